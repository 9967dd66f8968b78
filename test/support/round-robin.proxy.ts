import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A running {@link startRoundRobinProxy}. */
export interface RoundRobinProxy {
  /** `http://127.0.0.1:<port>`: a supertest target, like an app's URL. */
  url: string;
  port: number;
  /** How many requests each target has been sent, in target order. */
  forwarded: number[];
  /** Stops listening, ends kept-alive connections on both sides. Idempotent. */
  close(): Promise<void>;
}

/**
 * Connection-scoped headers: each hop manages its own connection (the proxy
 * keeps connections to the targets alive whatever the client asked for).
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'upgrade']);

/** rawHeaders (name, value, name, value, ...) without hop-by-hop headers: case, order and repeats kept. */
function endToEnd(raw: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (!HOP_BY_HOP.has(raw[i].toLowerCase())) out.push(raw[i], raw[i + 1]);
  }
  return out;
}

/**
 * A tiny HTTP/1.1 reverse proxy on 127.0.0.1 that sends each incoming request
 * to the next target in turn (A, B, A, B, ... across all connections, also
 * for requests on one kept-alive connection), so consecutive requests of a
 * test land on different app instances. Bodies stream both ways; the status
 * code and message, header names, order and repeats (several Set-Cookie) are
 * passed on byte for byte. A target that cannot be reached answers 502.
 */
export async function startRoundRobinProxy(targets: string[]): Promise<RoundRobinProxy> {
  if (targets.length === 0) throw new Error('round-robin proxy: no targets');
  const upstreams = targets.map((target) => new URL(target));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const forwarded = targets.map(() => 0);
  let next = 0;

  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const index = next;
    next = (next + 1) % upstreams.length;
    forwarded[index]++;
    const target = upstreams[index];
    const upstream = http.request({
      agent,
      host: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      // an array in rawHeaders form: names, order and repeats as the client sent them
      headers: endToEnd(req.rawHeaders) as unknown as http.OutgoingHttpHeaders,
      setHost: false,
    });
    upstream.on('response', (answer) => {
      res.writeHead(
        answer.statusCode ?? 502,
        answer.statusMessage,
        endToEnd(answer.rawHeaders) as unknown as http.OutgoingHttpHeaders,
      );
      answer.pipe(res);
      answer.on('error', () => res.destroy());
    });
    upstream.on('error', () => {
      if (res.headersSent) {
        res.destroy();
      } else {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ statusCode: 502, message: 'round-robin proxy: target failed' }));
      }
    });
    // the client went away before the answer was complete: abandon the upstream request too
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  };

  const server = http.createServer(forward);
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    forwarded,
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
        agent.destroy();
      })),
  };
}
