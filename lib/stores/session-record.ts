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
  /** Top-level session keys and their JSON-serialized values. */
  data: Record<string, string>;
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
