import type { IncomingMessage } from 'node:http';
import { clientIp } from '../http/client-ip.js';
import type { EventOrigin } from '../events/event-origin.js';
import type { LoadRequest } from '../session/session-loader.js';
import type { RequestSession, SessionRequestHooks } from '../session/request-session.js';

/** Where a read-only load comes from: a cookie header and what the client looks like. */
export interface ReadonlyLoadClient {
  /** The client's User-Agent (checked when `bindToUserAgent` is on). */
  userAgent?: string;
  /** The client's address: the guessing defence counts bad cookies per address, and events name it. */
  ip?: string;
}

function refuseWrite(): Promise<void> {
  return Promise.reject(
    new TypeError('A session loaded read-only (WebSocket handshake) cannot be destroyed or saved'),
  );
}

/**
 * The {@link LoadRequest} of a read-only load: the loader applies every rule
 * of the HTTP path (signature and secret rotation, timeouts, revocation,
 * forwards, User-Agent binding, the guessing defence), and the hooks it
 * hands the session write nothing: a read changes nothing, `destroy()` and
 * `save()` refuse.
 */
export function readonlyLoadRequest(
  cookieHeader: unknown,
  client: ReadonlyLoadClient,
): LoadRequest {
  const origin: EventOrigin = {
    clientAddress: () => client.ip ?? 'unknown',
    userAgent: client.userAgent,
  };
  const hooks: SessionRequestHooks = {
    origin,
    sessionChanged: () => {},
    destroyNow: (_session: RequestSession) => refuseWrite(),
    saveNow: (_session: RequestSession) => refuseWrite(),
  };
  return { cookieHeader, userAgent: client.userAgent, clientAddress: origin.clientAddress, hooks };
}

/** The client of a handshake request, its address computed as HTTP requests' (honouring `trustProxy`). */
export function handshakeClient(request: IncomingMessage, trustProxy: number): ReadonlyLoadClient {
  const agent = request.headers['user-agent'];
  return {
    userAgent: typeof agent === 'string' ? agent : undefined,
    ip: clientIp(request, trustProxy),
  };
}
