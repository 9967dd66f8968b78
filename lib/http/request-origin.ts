import type { EventOrigin } from '../events/event-origin.js';
import { clientIp } from './client-ip.js';
import type { PlatformRequest } from './platform-request.js';

/**
 * A request as the origin of an event, for code that holds the request but
 * no session context of it (a guard that never loads the session).
 */
export function requestOrigin(request: PlatformRequest, trustProxy: number): EventOrigin {
  return {
    clientAddress: () => clientIp(request, trustProxy),
    userAgent: request.headers['user-agent'],
  };
}
