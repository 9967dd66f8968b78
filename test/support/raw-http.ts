import net from 'node:net';

/** A response as read off the socket. */
export interface RawResponse {
  status: number;
  /** Header names in lower case; repeated headers joined into arrays. */
  headers: Record<string, string | string[]>;
  body: string;
}

/**
 * Sends one GET with exactly the given header lines, bypassing Node's HTTP
 * client (which refuses control characters and non-Latin-1 text in header
 * values): hostile Cookie headers reach the server byte for byte.
 */
export function rawGet(
  port: number,
  path: string,
  headerLines: (string | Buffer)[],
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error(`raw GET ${path}: timed out`)));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      try {
        resolve(parseResponse(Buffer.concat(chunks)));
      } catch (error) {
        reject(error);
      }
    });
    const parts: Buffer[] = [
      Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n`),
    ];
    for (const line of headerLines) parts.push(Buffer.from(line), Buffer.from('\r\n'));
    parts.push(Buffer.from('\r\n'));
    // Not end(): a half-closed client makes Node's HTTP server drop a response that
    // is not ready at once (e.g. after a Redis round trip); Connection: close ends it.
    socket.write(Buffer.concat(parts));
  });
}

/** A `Cookie:` header line (raw bytes allowed). */
export function cookieLine(value: string | Buffer): Buffer {
  return Buffer.concat([
    Buffer.from('Cookie: '),
    Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8'),
  ]);
}

/** Status and headers (lower-case names, repeats as arrays) of a response head ending at `end`. */
export function parseHead(
  data: Buffer,
  end: number,
): { status: number; headers: Record<string, string | string[]> } {
  const [statusLine, ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  if (!Number.isInteger(status)) throw new Error(`bad status line: ${statusLine}`);
  const headers: Record<string, string | string[]> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    const name = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    const prev = headers[name];
    headers[name] =
      prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return { status, headers };
}

function parseResponse(data: Buffer): RawResponse {
  const end = data.indexOf('\r\n\r\n');
  if (end === -1)
    throw new Error(
      `incomplete HTTP response: ${JSON.stringify(data.toString('latin1').slice(0, 200))}`,
    );
  const { status, headers } = parseHead(data, end);
  let body = data.subarray(end + 4);
  if (String(headers['transfer-encoding']).toLowerCase() === 'chunked') body = dechunk(body);
  return { status, headers, body: body.toString('utf8') };
}

function dechunk(data: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd === -1) break;
    const size = parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    if (!size) break;
    out.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(out);
}
