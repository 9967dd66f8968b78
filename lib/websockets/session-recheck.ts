import type { SessionTiming } from '../session/session-timing.js';
import type { SessionEndReason } from '../session/session.interface.js';
import type { SessionRecord } from '../stores/session-record.js';

/** Forwards followed per re-check: a socket re-checked every second meets one, rarely two. */
const MAX_HOPS = 3;

/** What one re-check of a socket's session found: still live (maybe under a new key), or ended. */
export type RecheckOutcome =
  { live: true; key: string; record: SessionRecord } | { live: false; reason: SessionEndReason };

/** Reads a record by key (the store's `peek` where it has one, else `get`). */
export type RecordReader = (key: string) => Promise<SessionRecord | null>;

/**
 * Whether the session a socket was opened with still lives, from the record
 * under its key: gone (logout, or the store forgot it) and revoked (one
 * revocation, "log out everywhere", a hijack) end it; so do its timeouts,
 * from the record's own timestamps as at load. A rotation (privilege change,
 * renewal) leaves a forward: the socket follows it to the same session
 * (same handle), as a request within the forward would; a log-in starts a
 * different session, so a forward to another handle ends this one.
 */
export async function recheckSession(
  key: string,
  handle: string,
  read: RecordReader,
  timing: SessionTiming,
  now: number,
): Promise<RecheckOutcome> {
  let currentKey = key;
  let record = await read(currentKey);
  // Rotated once or twice since the last check (a renewal right after a privilege change).
  for (
    let hop = 0;
    hop < MAX_HOPS && record?.movedTo !== undefined && record.revokedAt === undefined;
    hop++
  ) {
    currentKey = record.movedTo;
    record = await read(currentKey);
  }
  if (!record) return { live: false, reason: 'no_session' };
  if (record.revokedAt !== undefined) return { live: false, reason: 'revoked' };
  // Still a forward after MAX_HOPS, or another session (a log-in) behind it.
  if (record.movedTo !== undefined || record.handle !== handle) {
    return { live: false, reason: 'no_session' };
  }
  const timedOut = timing.timedOut(record, now);
  if (timedOut) return { live: false, reason: timedOut };
  return { live: true, key: currentKey, record };
}
