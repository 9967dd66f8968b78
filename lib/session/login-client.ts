import type { EventOrigin } from '../events/event-origin.js';

/** Who logged in from where, as a session keeps it (see LOGIN_CLIENT_KEY). */
export interface LoginClient {
  userAgent?: string;
  ip?: string;
}

/** A User-Agent may be as long as the header limit allows: a session keeps a bounded one. */
const MAX_USER_AGENT = 256;

/** The log-in request's client: its address (as the module computes it) and User-Agent. */
export function loginClient(origin: EventOrigin): LoginClient {
  const client: LoginClient = { ip: origin.clientAddress() };
  const agent = origin.userAgent;
  if (typeof agent === 'string' && agent !== '') client.userAgent = agent.slice(0, MAX_USER_AGENT);
  return client;
}

/** The log-in client a stored session holds (JSON text under LOGIN_CLIENT_KEY), if it is well-formed. */
export function storedLoginClient(serialized: string | undefined): LoginClient {
  if (serialized === undefined) return {};
  try {
    const value = JSON.parse(serialized) as Record<string, unknown>;
    const client: LoginClient = {};
    if (typeof value?.userAgent === 'string') client.userAgent = value.userAgent;
    if (typeof value?.ip === 'string') client.ip = value.ip;
    return client;
  } catch {
    return {};
  }
}
