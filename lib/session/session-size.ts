import { SessionTooLargeException } from '../session.exceptions.js';
import { isInternalKey } from './internal-keys.js';

/**
 * What `maxSessionBytes` counts for one top-level key: the UTF-8 bytes of
 * the key and of its serialized value (module keys, `$...`, included). That
 * is what every store keeps and every request loads, give or take a few
 * bytes of framing.
 */
export function entryBytes(key: string, serialized: string): number {
  return Buffer.byteLength(key) + Buffer.byteLength(serialized);
}

/** Bytes a change adds to the data: in all, and through the app's own keys (not `$...`). */
export class SizeChange {
  total = 0;
  app = 0;

  add(key: string, bytes: number): void {
    this.total += bytes;
    if (!isInternalKey(key)) this.app += bytes;
  }
}

/**
 * Refuses a change that leaves the data at `after` bytes, over `limit`, when
 * the app's keys grew (`appGrew`). Module keys count toward the size, but
 * the module's own writes (a CSRF secret, a renewal time) are never what
 * gets refused: a session near its limit must not be locked out by them.
 * And a session already over (the limit was lowered since it was stored)
 * can still be read, touched and shrunk; it can never grow.
 */
export function assertSessionFits(
  after: number,
  limit: number,
  appGrew: boolean,
  key?: string,
): void {
  if (after <= limit || !appGrew) return;
  throw new SessionTooLargeException(
    key === undefined
      ? `Session data grew to ${after} bytes, over the limit of ${limit} (maxSessionBytes); nothing was saved`
      : `Session data would grow to ${after} bytes with '${key}', over the limit of ${limit} (maxSessionBytes)`,
  );
}
