import net from 'node:net';
import { parseHead, type RawResponse } from './raw-http.js';

/** One request to send as raw bytes: hostile header lines reach the server unchanged. */
export interface RawRequest {
  method: string;
  path: string;
  /** Header lines without CR/LF (Host is added); raw bytes allowed. */
  headerLines: (string | Buffer)[];
  body?: string;
}

/**
 * A persistent HTTP/1.1 connection that sends raw requests one at a time
 * and reads each response by its framing (Content-Length or chunked). When
 * the server closes it (e.g. after a 400 from the HTTP parser) the next
 * request reconnects. Much faster than a connection per request.
 */
export class RawConnection {
  private socket: net.Socket | undefined;
  private buffer = Buffer.alloc(0);
  private pending:
    { resolve: (res: RawResponse) => void; reject: (error: Error) => void } | undefined;
  /** Requests answered on this connection since it was (re)opened. */
  private served = 0;
  /** Times a connection was opened. */
  connects = 0;

  constructor(private readonly port: number) {}

  async request(req: RawRequest): Promise<RawResponse> {
    const bytes = encode(req);
    try {
      return await this.once(bytes);
    } catch (error) {
      // The server may close an idle kept-alive connection just as we write: retry once, fresh.
      if ((error as { reused?: boolean }).reused) return this.once(bytes);
      throw error;
    }
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private once(bytes: Buffer): Promise<RawResponse> {
    if (this.pending) throw new Error('RawConnection: one request at a time');
    const socket = this.socket ?? this.open();
    const reused = this.served > 0;
    return new Promise<RawResponse>((resolve, reject) => {
      this.pending = {
        resolve,
        reject: (error) => reject(Object.assign(error, { reused })),
      };
      socket.write(bytes);
    });
  }

  private open(): net.Socket {
    const socket = net.connect(this.port, '127.0.0.1');
    socket.setNoDelay(true);
    socket.setTimeout(10_000, () => socket.destroy(new Error('raw request timed out')));
    this.connects++;
    this.served = 0;
    this.buffer = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.drain(false);
    });
    socket.on('error', () => {}); // reported through 'close'
    socket.on('close', () => {
      if (this.socket === socket) this.socket = undefined;
      this.drain(true);
      const pending = this.pending;
      this.pending = undefined;
      pending?.reject(
        new Error(
          `connection closed without a complete response (${JSON.stringify(this.buffer.toString('latin1').slice(0, 120))})`,
        ),
      );
    });
    this.socket = socket;
    return socket;
  }

  /** Resolves the pending request once its whole response is buffered. */
  private drain(closed: boolean): void {
    if (!this.pending) return;
    const parsed = parse(this.buffer, closed);
    if (!parsed) return;
    this.buffer = this.buffer.subarray(parsed.consumed);
    this.served++;
    const { resolve } = this.pending;
    this.pending = undefined;
    if (String(parsed.response.headers.connection).toLowerCase() === 'close') this.close();
    resolve(parsed.response);
  }
}

/**
 * Runs `requests` over `connections` kept-alive connections (each sends one
 * at a time); answers the responses in request order.
 */
export async function sendAll(
  pool: RawConnection[],
  requests: RawRequest[],
): Promise<RawResponse[]> {
  const responses: RawResponse[] = new Array(requests.length);
  let next = 0;
  await Promise.all(
    pool.map(async (connection) => {
      while (next < requests.length) {
        const i = next++;
        responses[i] = await connection.request(requests[i]);
      }
    }),
  );
  return responses;
}

function encode(req: RawRequest): Buffer {
  const parts: Buffer[] = [
    Buffer.from(`${req.method} ${req.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n`),
  ];
  for (const line of req.headerLines) parts.push(Buffer.from(line), Buffer.from('\r\n'));
  if (req.body !== undefined) {
    parts.push(Buffer.from(`Content-Length: ${Buffer.byteLength(req.body)}\r\n`));
  }
  parts.push(Buffer.from('\r\n'));
  if (req.body !== undefined) parts.push(Buffer.from(req.body));
  return Buffer.concat(parts);
}

function parse(
  data: Buffer,
  closed: boolean,
): { response: RawResponse; consumed: number } | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const { status, headers } = parseHead(data, end);
  const start = end + 4;
  const length = headers['content-length'];
  let body: Buffer;
  let consumed: number;
  if (String(headers['transfer-encoding']).toLowerCase() === 'chunked') {
    const chunks: Buffer[] = [];
    let at = start;
    for (;;) {
      const lineEnd = data.indexOf('\r\n', at);
      if (lineEnd === -1) return undefined;
      const size = parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
      if (size === 0) {
        if (data.length < lineEnd + 4) return undefined;
        consumed = lineEnd + 4;
        break;
      }
      if (data.length < lineEnd + 2 + size + 2) return undefined;
      chunks.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
    body = Buffer.concat(chunks);
  } else if (length !== undefined) {
    const n = Number(length);
    if (data.length < start + n) return undefined;
    body = data.subarray(start, start + n);
    consumed = start + n;
  } else if (status === 204 || status === 304 || (status >= 100 && status < 200)) {
    body = Buffer.alloc(0);
    consumed = start;
  } else {
    // No framing: the body runs until the server closes the connection.
    if (!closed) return undefined;
    body = data.subarray(start);
    consumed = data.length;
  }
  return { response: { status, headers, body: body.toString('utf8') }, consumed };
}
