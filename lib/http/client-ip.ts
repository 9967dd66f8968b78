import type { PlatformRequest } from './platform-request.js';

interface SocketLike {
  remoteAddress?: string;
}

interface RequestWithSocket extends PlatformRequest {
  socket?: SocketLike;
  raw?: { socket?: SocketLike };
}

/**
 * The client's address: the TCP peer, or, behind `trustProxy` proxies, the
 * X-Forwarded-For entry that many hops from the right (entries further left
 * were written by the client and prove nothing), like Express' `trust proxy`.
 */
export function clientIp(request: PlatformRequest, trustProxy: number): string {
  const req = request as RequestWithSocket;
  const peer = req.socket?.remoteAddress ?? req.raw?.socket?.remoteAddress ?? 'unknown';
  if (trustProxy <= 0) return peer;
  const header = req.headers['x-forwarded-for'];
  const value = Array.isArray(header) ? header.join(',') : header;
  if (!value) return peer;
  const hops = value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  return hops[hops.length - trustProxy] ?? hops[0] ?? peer;
}
