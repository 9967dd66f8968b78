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
