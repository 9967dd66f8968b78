import { boundedUserAgent, type EventOrigin } from '../events/event-origin.js';

/** Who logged in from where, as a session keeps it (see LOGIN_CLIENT_KEY). */
export interface LoginClient {
  userAgent?: string;
  ip?: string;
}

/** The log-in request's client: its address (as the module computes it) and User-Agent. */
export function loginClient(origin: EventOrigin): LoginClient {
  const client: LoginClient = { ip: origin.clientAddress() };
  const agent = boundedUserAgent(origin);
  if (agent !== undefined) client.userAgent = agent;
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
