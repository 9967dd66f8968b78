/**
 * The request behind an event, as the emitter holds it. Read only when
 * somebody listens (see `SessionEvents.emit`), so a request whose events
 * nobody watches never computes its client address for them.
 */
export interface EventOrigin {
  /** The client's address, as the module computes it (honouring `bruteForce.trustProxy`). */
  clientAddress(): string;
  /** The request's User-Agent header, as it came. */
  readonly userAgent: unknown;
}

/**
 * A hostile User-Agent may be as long as the header limit allows: what the
 * module keeps of one (in an event, or in a session's log-in client) is
 * bounded. `undefined` when the request sent none.
 */
export function boundedUserAgent(origin: EventOrigin): string | undefined {
  const agent = origin.userAgent;
  if (typeof agent !== 'string' || agent === '') return undefined;
  return agent.length > MAX_USER_AGENT ? agent.slice(0, MAX_USER_AGENT) : agent;
}

const MAX_USER_AGENT = 256;
