/**
 * What a store keeps for one session. Data values are already serialized
 * (JSON text per top-level key), so a store never interprets app data and a
 * store in another process (Redis) holds exactly what the memory store holds.
 */
export interface SessionRecord {
  /** Opaque public name of the session for listings; never the ID. */
  handle: string;
  /** Epoch ms when the session was created (absolute timeout counts from here). */
  createdAt: number;
  /** Epoch ms of the last recorded activity (throttled, see `touchAfter`). */
  lastSeenAt: number;
  /** Epoch ms of the last log-in or re-authentication. */
  authenticatedAt?: number;
  /** The authenticated user; sessions with a user are in the per-user index. */
  userId?: string;
  /** Privilege roles of the user. */
  roles?: string[];
  /** Epoch ms when the session was revoked; a revoked record is a short-lived tombstone. */
  revokedAt?: number;
  /**
   * Set on a forward: the short-lived record a rotation leaves under the old
   * key, naming the store key the session moved to. A forward has no user,
   * roles or data and is in no index.
   */
  movedTo?: string;
  /** On a forward: epoch ms until which the old ID still loads the session (renewal grace). */
  readableUntil?: number;
  /**
   * Set on a refresh-token family (token sessions) instead of a cookie
   * session: which refresh token is current. A family is a record like a
   * session (handle, user, roles, timestamps, the per-user index, tombstones
   * on revocation) with no data; see {@link RefreshFamilyState}.
   */
  refresh?: RefreshFamilyState;
  /** Top-level session keys and their JSON-serialized values. */
  data: Record<string, string>;
}

/**
 * The rotation state of a refresh-token family. Tokens are never stored,
 * only their SHA-256 digests (base64url). Besides this, the store remembers
 * the digest of every token the family ever issued (until the family ends),
 * so that a rotated token coming back is told apart from a forged one: the
 * first revokes the family (reuse), the second is just unknown.
 */
export interface RefreshFamilyState {
  /** Digest of the one token that may be redeemed now. */
  current: string;
  /** 1 for the token issued at log-in, +1 per rotation. */
  generation: number;
  /** Digest of the token the current one replaced (absent before the first rotation). */
  previous?: string;
  /** Epoch ms when `previous` was redeemed (the start of its reuse grace). */
  rotatedAt?: number;
  /**
   * The current token sealed with a key only `previous` yields (AES-GCM),
   * kept only while a reuse grace is configured: inside it, `previous`
   * coming back gets this same successor (no new branch).
   */
  sealedSuccessor?: string;
}

/**
 * How many of a family's latest refresh tokens a store remembers (their
 * digests), to tell a rotated token coming back (reuse: the family ends)
 * from a forged one (unknown: nothing happens). Bounded, so a family
 * refreshed every few minutes for weeks stays small and its redemption
 * costs the same at generation 4,000 as at 4: a token more than this many
 * rotations old is just unknown (refused as `token_invalid`, without ending
 * the family). A copied token is caught as reuse as soon as either copy is
 * redeemed after the other, which is long before 64 rotations.
 */
export const REFRESH_TOKEN_HISTORY = 64;

/** A forward record: what `rotate` leaves under the old key. */
export function forwardRecord(
  record: Pick<SessionRecord, 'handle' | 'createdAt' | 'lastSeenAt'>,
  movedTo: string,
  readableUntil: number | undefined,
): SessionRecord {
  const forward: SessionRecord = {
    handle: record.handle,
    createdAt: record.createdAt,
    lastSeenAt: record.lastSeenAt,
    movedTo,
    data: {},
  };
  if (readableUntil !== undefined) forward.readableUntil = readableUntil;
  return forward;
}

/** Live: neither a tombstone nor a forward. */
export function isLiveRecord(record: SessionRecord): boolean {
  return record.revokedAt === undefined && record.movedTo === undefined;
}

/**
 * When a refresh-token family ends: `idleMs` after its last refresh, or
 * `absoluteMs` after its log-in, whichever comes first.
 */
export function familyEndsAt(
  record: Pick<SessionRecord, 'createdAt' | 'lastSeenAt'>,
  absoluteMs: number,
  idleMs: number,
): number {
  return Math.min(record.createdAt + absoluteMs, record.lastSeenAt + idleMs);
}

/** A partial write: only the top-level keys that changed, plus the activity time. */
export interface SessionPatch {
  lastSeenAt?: number;
  set?: Record<string, string>;
  unset?: string[];
}

/** One entry of a per-user listing. */
export interface UserSessionEntry {
  /** The store key (SHA-256 of the session ID), for follow-up calls on the store. */
  key: string;
  record: SessionRecord;
}

/** Copies a record so that caller and store never share mutable state. */
export function copyRecord(record: SessionRecord): SessionRecord {
  return {
    ...record,
    roles: record.roles ? [...record.roles] : undefined,
    refresh: record.refresh ? { ...record.refresh } : undefined,
    data: { ...record.data },
  };
}
