/** Kinds of session lifecycle events. */
export type SessionEventType =
  | 'created'
  | 'logged_in'
  | 'rotated'
  | 'destroyed'
  | 'expired'
  | 'revoked'
  | 'hijack_suspected'
  | 'brute_force_suspected'
  | 'store_unavailable'
  | 'store_recovered';

/**
 * A lifecycle event, as emitted on `SessionService.events$`. It carries the
 * session's public `handle`, never its ID.
 */
export interface SessionEvent {
  type: SessionEventType;
  /** Epoch ms. */
  at: number;
  handle?: string;
  userId?: string;
  /** Why: for `hijack_suspected` (`user-agent`), `rotated` (`login`, `privilege`, `regenerate`, `route`), `expired` (`idle_timeout`, `absolute_timeout`), `revoked` (`user`, `all`). */
  reason?: string;
}
