import type { SessionPatch, SessionRecord, UserSessionEntry } from './session-record.js';

/**
 * Where sessions live. Keys are SHA-256 digests of session IDs (the store
 * never sees an ID); `ttlMs` is how long the store must keep the record
 * before it may forget it on its own. Timeouts are enforced by the module
 * from the record's timestamps, so a store's expiry only needs to be no
 * earlier than that.
 *
 * Implementations must copy: a record handed in or out is never shared.
 */
export interface SessionStore {
  /** Reads a record, or `null` when there is none (or it has expired). */
  get(key: string): Promise<SessionRecord | null>;
  /** Writes a whole record (a new session), replacing any record under `key`. */
  set(key: string, record: SessionRecord, ttlMs: number): Promise<void>;
  /**
   * Writes only the changed top-level keys and refreshes the TTL. Never
   * creates a record: answers `false` when the session is gone (destroyed or
   * revoked meanwhile), so a late write cannot bring a session back.
   */
  update(key: string, patch: SessionPatch, ttlMs: number): Promise<boolean>;
  /**
   * Moves a session to a new key: writes `record` under `newKey`, then deletes
   * `oldKey`, keeping the per-user index right. The old key stops resolving
   * at once.
   */
  rotate(oldKey: string, newKey: string, record: SessionRecord, ttlMs: number): Promise<void>;
  /** Deletes a session (and its index entry). Deleting a missing key is not an error. */
  destroy(key: string): Promise<void>;
  /**
   * Replaces a session by a tombstone (`revokedAt`, no data) kept for `ttlMs`,
   * so that its next request can be told `revoked`. Answers whether a live
   * session was revoked.
   */
  revoke(key: string, revokedAt: number, ttlMs: number): Promise<boolean>;
  /** Live sessions of a user (tombstones and expired entries left out, stale index entries pruned). */
  listForUser(userId: string): Promise<UserSessionEntry[]>;
  /**
   * Optional fast path for "log out everywhere": revokes every live session
   * of `userId` except the one under `exceptKey` (each becomes a tombstone
   * kept `ttlMs`, as with `revoke`), in one round trip where the store can.
   * Answers how many sessions were revoked. Callers without it fall back to
   * `listForUser` + `revoke`.
   */
  revokeAllForUser?(
    userId: string,
    revokedAt: number,
    ttlMs: number,
    exceptKey?: string,
  ): Promise<number>;
  /**
   * Optional fixed-window counter (guessing defence): adds one to `key` and
   * answers the new count; the count starts at 1 and the key expires
   * `windowMs` after its first increment. Shared by every app instance when
   * the store is. Without it the module counts per process.
   */
  incrementCounter?(key: string, windowMs: number): Promise<number>;
  /** Releases timers and connections the store owns. */
  close?(): Promise<void>;
}

/** Injection token for the configured store (same name as the interface, as in @nestjs/throttler). */
export const SessionStore = Symbol('SessionStore');
