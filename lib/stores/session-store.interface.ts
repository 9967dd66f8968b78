import type { SessionPatch, SessionRecord, UserSessionEntry } from './session-record.js';

/**
 * How {@link SessionStore.rotate} gives a session a new key. Every ID change
 * is one conditional store operation, so that a logout, a revocation or
 * another rotation running at the same time can never be undone by it.
 */
export interface RotateOptions {
  /**
   * Move only if `oldKey` still holds the live session with this handle (not
   * destroyed, revoked, expired or already moved). Leave it out for a log-in,
   * which starts a new session whatever `oldKey` holds; a log-in counts
   * against the per-user cap, a rotation of the same session never does.
   */
  expectHandle?: string;
  /**
   * How long `oldKey` keeps a forward to `newKey` (ms; 0: `oldKey` is simply
   * deleted). Requests that loaded the old session before it moved follow
   * the forward, so their late writes, destroys and revocations reach the
   * session it moved into.
   */
  forwardMs: number;
  /**
   * Epoch ms until which the forward also serves loads (periodic renewal's
   * grace). Default: never; the old ID stops working at once.
   */
  readableUntil?: number;
}

/**
 * What a rotate did: `rotated`; `moved` when another rotation won the race
 * (`oldKey` already forwards to `to`; nothing was written); `gone` when the
 * old session was destroyed, revoked or expired meanwhile (nothing written).
 */
export type RotateOutcome =
  | { status: 'rotated'; capped?: CappedSession[] }
  | { status: 'moved'; to: string }
  | { status: 'gone' };

/**
 * A session the per-user cap revoked while a new one was written (see
 * {@link SessionStore.set}): what the `destroyed` event (reason `limit`)
 * reports, the user being the new session's.
 */
export interface CappedSession {
  handle: string;
  createdAt: number;
  /** `'token'`: a refresh-token family (families count against the cap too). */
  kind: 'cookie' | 'token';
}

/** What `set()` may answer: the user's sessions its per-user cap revoked (none: nothing or `[]`). */
export interface SetOutcome {
  capped: CappedSession[];
}

/**
 * One redemption of a refresh token ({@link SessionStore.redeemRefreshToken}).
 * Times are the module's clock, so that expiry agrees with what it enforces.
 */
export interface RedeemRequest {
  /** SHA-256 (base64url) of the token presented. */
  presented: string;
  /** Digest of the successor, which becomes current if `presented` is. */
  successor: string;
  /** The successor sealed by the presented token (kept for the grace); absent when the grace is 0. */
  sealedSuccessor?: string;
  /** Epoch ms, now. */
  now: number;
  /** A family unused this long (since its `lastSeenAt`) has ended. */
  idleMs: number;
  /** A family this old (since its `createdAt`) has ended. */
  absoluteMs: number;
  /**
   * How long after a rotation the previous token may come back and get the
   * successor already issued (`sealedSuccessor`); 0: never (any rotated
   * token coming back is reuse).
   */
  graceMs: number;
  /** How long the tombstone of a family revoked for reuse is kept, in ms. */
  revokedTtlMs: number;
  /**
   * How long past the family's end its record is kept after a rotation (the
   * TTL is the remaining lifetime plus this), so its end can still be read
   * and reported. Default 0.
   */
  retainMs?: number;
}

/**
 * What a redemption did:
 * - `rotated`: `presented` was current; `successor` is now, `lastSeenAt` =
 *   `now`, the TTL is the family's remaining lifetime. `record` is the family
 *   after the step.
 * - `replayed`: `presented` is the previous token, back inside the grace;
 *   nothing was written, `sealedSuccessor` is the successor it already got.
 * - `reused`: `presented` was issued by this family and rotated away (outside
 *   the grace, or older than the previous one): the family is now a
 *   tombstone, in the same atomic step. `record` is the family as it was.
 * - `revoked`: the family is a tombstone already (logout, revocation, reuse).
 * - `expired`: the family's idle or absolute lifetime has passed (nothing
 *   written).
 * - `unknown`: no such family, or `presented` was never issued by it.
 */
export type RedeemOutcome =
  | { status: 'rotated'; record: SessionRecord }
  | { status: 'replayed'; record: SessionRecord; sealedSuccessor: string }
  | { status: 'reused'; record: SessionRecord }
  | { status: 'revoked' }
  | { status: 'expired' }
  | { status: 'unknown' };

/** What {@link SessionStore.stats} answers. */
export interface SessionStoreStats {
  /**
   * Live records whose TTL has not ended: sessions and families (one that
   * timed out counts until its TTL ends, `endedRetentionMs` later);
   * tombstones and forwards do not count.
   */
  activeSessions: number;
  /** Bytes of memory the store uses (see {@link SessionStore.stats}); absent when unknown. */
  memoryBytes?: number;
}

/** How many forwards a store follows at most (a chain longer than this is cut). */
export const MAX_FORWARD_HOPS = 1_000;

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
  /**
   * Reads a record, or `null` when there is none (or it has expired). A
   * forward (`movedTo` set) is answered as it is, not followed.
   */
  get(key: string): Promise<SessionRecord | null>;
  /**
   * Optional: reads a record without its data (`data` is `{}`) and, on a
   * refresh-token family, without its token history: what the strict
   * access-token check needs, at a cost that does not grow with the record.
   * Callers without it use `get`.
   */
  peek?(key: string): Promise<SessionRecord | null>;
  /**
   * Writes a whole record (a new session), replacing any record under `key`.
   * A user session beyond the store's per-user cap revokes that user's
   * sessions indexed longest ago, and answers which (so the module can
   * report them; a store that answers nothing reports none).
   */
  set(key: string, record: SessionRecord, ttlMs: number): Promise<void | SetOutcome>;
  /**
   * Writes only the changed top-level keys and refreshes the TTL. Never
   * creates a record: answers `false` when the session is gone (destroyed or
   * revoked meanwhile), so a late write cannot bring a session back. On a
   * forward the patch goes to the session it leads to (the forward itself is
   * never written, so it never outlives its own short TTL).
   */
  update(key: string, patch: SessionPatch, ttlMs: number): Promise<boolean>;
  /**
   * Gives a session a new key, atomically: checks `oldKey` (see
   * {@link RotateOptions.expectHandle}), writes `record` under `newKey`, and
   * turns `oldKey` into a forward or deletes it, keeping the per-user index
   * right. When the check fails nothing is written and nothing stays behind.
   */
  rotate(
    oldKey: string,
    newKey: string,
    record: SessionRecord,
    ttlMs: number,
    options: RotateOptions,
  ): Promise<RotateOutcome>;
  /**
   * Deletes a session (and its index entry); on a forward, also the session
   * it leads to, so that a logout that raced a rotation still ends it.
   * Deleting a missing key is not an error.
   */
  destroy(key: string): Promise<void>;
  /**
   * Replaces a session by a tombstone (`revokedAt`, no data) kept for `ttlMs`,
   * so that its next request can be told `revoked`; on a forward, the
   * session it leads to. Answers whether a live session was revoked.
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
  /**
   * Optional (token sessions need it): redeems a refresh token of the
   * family under `key`, check and write in one atomic step, so that of two
   * concurrent redemptions of one token at most one rotates (the other is
   * told `reused`, or `replayed` inside the grace). A family is created with
   * `set()` (a record with `refresh`), ended with `revoke()` / `destroy()`
   * and listed and capped with the user's sessions.
   */
  redeemRefreshToken?(key: string, request: RedeemRequest): Promise<RedeemOutcome>;
  /**
   * Optional (operations): claims up to `limit` records whose store expiry
   * (the time their TTL ends, as last set by a write) is at or before
   * `before` (epoch ms), and answers them with their records; each is
   * claimed once, whichever app instance asks first, so an `expired` event
   * is reported once for a session no request ever comes back for. Records
   * that are no longer live (destroyed, revoked, moved) are dropped from the
   * expiry index, not answered. The module calls it every few seconds with
   * `before = now + endedRetentionMs` (TTLs run that long past a session's
   * end, so the record can still be read).
   */
  claimExpired?(before: number, limit: number): Promise<UserSessionEntry[]>;
  /**
   * Optional (operations): how many sessions the store holds now (live by
   * TTL, as its expiry index counts them, without a SCAN) and how much
   * memory it uses in bytes (Redis: `used_memory` of the server, summed
   * over a Cluster's masters; MemoryStore: an estimate of its records).
   */
  stats?(): Promise<SessionStoreStats>;
  /** Releases timers and connections the store owns. */
  close?(): Promise<void>;
}

/** Injection token for the configured store (same name as the interface, as in @nestjs/throttler). */
export const SessionStore = Symbol('SessionStore');
