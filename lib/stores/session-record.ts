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
  /** Top-level session keys and their JSON-serialized values. */
  data: Record<string, string>;
}

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
    data: { ...record.data },
  };
}
