import {
  isLiveRecord,
  type SessionPatch,
  type SessionRecord,
  type UserSessionEntry,
} from '../session-record.js';
import {
  MAX_FORWARD_HOPS,
  type CappedSession,
  type RedeemOutcome,
  type RedeemRequest,
  type RotateOutcome,
} from '../session-store.interface.js';
import { runScript } from './redis-driver.js';
import {
  asString,
  cappedOf,
  claimInBatches,
  expiresAt,
  expiryIndexKey,
  forwardArgs,
  indexedUser,
  keepFor,
  patchArgs,
  recordExpiresAt,
  redeemArgs,
  redeemReply,
  revokeFollowing,
  rotateOutcome,
  toTtl,
  type Bounded,
  type ConditionalRotate,
  type RedisTopologyOperations,
  type RedisTopologySettings,
} from './redis-topology.js';
import {
  CLAIM,
  DESTROY,
  LIST,
  PUT,
  PUT_CAPPED,
  REDEEM,
  REVOKE_ALL,
  ROTATE,
  UPDATE,
} from './redis.scripts.js';
import { decodeRecord, encodeRecord } from './session-hash.js';

/** Scripts also do the index work themselves (standalone Redis lets them derive keys). */
const INLINE = '1';

/**
 * The store on standalone Redis: every operation is one round trip, one
 * script run by SHA that does the session and its user index atomically;
 * a listing and a "log out everywhere" are one script per batch of
 * `INDEX_BATCH` (redis.scripts.ts) index entries.
 */
export class StandaloneOperations implements RedisTopologyOperations {
  constructor(private readonly settings: RedisTopologySettings) {}

  /** One script; PUT_CAPPED when maxSessionsPerUser is finite. */
  async put(
    key: string,
    oldKey: string | undefined,
    record: SessionRecord,
    ttlMs: number,
  ): Promise<CappedSession[]> {
    const { driver, prefix, maxSessionsPerUser } = this.settings;
    const limited = maxSessionsPerUser !== Infinity;
    const k = prefix + key;
    const keys = oldKey === undefined ? [k] : [k, prefix + oldKey];
    const reply = await runScript(driver, limited ? PUT_CAPPED : PUT, keys, [
      INLINE,
      prefix,
      key,
      oldKey ?? '',
      String(toTtl(ttlMs)),
      String(keepFor(ttlMs)),
      indexedUser(record),
      limited ? String(maxSessionsPerUser) : '0',
      '',
      recordExpiresAt(record, ttlMs),
      ...encodeRecord(record),
    ]);
    return cappedOf(reply);
  }

  /** One UPDATE per hop (the script extends the index itself when the TTL would pass it). */
  async update(key: string, patch: SessionPatch, ttlMs: number): Promise<boolean> {
    const { driver, prefix } = this.settings;
    const ttl = String(toTtl(ttlMs));
    const keep = String(keepFor(ttlMs));
    const at = expiresAt(ttlMs);
    const fields = patchArgs(patch);
    let target = key;
    for (let hops = 0; hops <= MAX_FORWARD_HOPS; hops++) {
      const reply = await runScript(
        driver,
        UPDATE,
        [prefix + target],
        [INLINE, prefix, target, ttl, keep, at, ...fields],
      );
      if (reply === 0) return false;
      if (reply === 1) return true;
      const [code, value] = Array.isArray(reply) ? [reply[0], asString(reply[1])] : [];
      // { 3, member }: a forward, nothing written. (Inline, UPDATE never answers 2.)
      if (code !== 3 || value === null || value === undefined) {
        throw new Error('unexpected reply to update');
      }
      target = value;
    }
    return false;
  }

  /** One ROTATE script: the check on the old key, the move and the new session, atomically. */
  async rotate(
    oldKey: string,
    newKey: string,
    record: SessionRecord,
    ttlMs: number,
    options: ConditionalRotate,
  ): Promise<RotateOutcome> {
    const { driver, prefix } = this.settings;
    const reply = await runScript(
      driver,
      ROTATE,
      [prefix + newKey, prefix + oldKey],
      [
        INLINE,
        prefix,
        newKey,
        oldKey,
        String(toTtl(ttlMs)),
        String(keepFor(ttlMs)),
        indexedUser(record),
        ...forwardArgs(options),
        recordExpiresAt(record, ttlMs),
        ...encodeRecord(record),
      ],
    );
    return rotateOutcome(reply);
  }

  /** One DESTROY per hop (each also unindexes its session). */
  async destroy(key: string): Promise<void> {
    const { driver, prefix } = this.settings;
    let target: string | null = key;
    for (let hops = 0; target && hops <= MAX_FORWARD_HOPS; hops++) {
      const reply = await runScript(driver, DESTROY, [prefix + target], [INLINE, prefix, target]);
      target = Array.isArray(reply) ? asString(reply[1]) : null;
    }
  }

  /** One REVOKE per hop (the script also unindexes the session it revokes). */
  async revoke(key: string, revokedAt: number, ttlMs: number): Promise<boolean> {
    const ttl = String(toTtl(ttlMs));
    return (await revokeFollowing(this.settings, INLINE, key, String(revokedAt), ttl, '')) !== null;
  }

  /**
   * One LIST script per batch, each bounded by `operationTimeoutMs` on its
   * own (a user with very many sessions takes many short calls, never one
   * long one).
   */
  async listForUser(userId: string, bounded: Bounded): Promise<UserSessionEntry[]> {
    const { driver, prefix } = this.settings;
    const idx = `${prefix}user:${userId}`;
    const entries: UserSessionEntry[] = [];
    for (let start = 0; start >= 0;) {
      const reply = await bounded(() =>
        runScript(driver, LIST, [idx], [prefix, userId, String(start)]),
      );
      if (!Array.isArray(reply) || typeof reply[0] !== 'number') break;
      start = reply[0];
      for (let i = 1; i + 1 < reply.length; i += 2) {
        const key = asString(reply[i]);
        const record = decodeRecord(reply[i + 1]);
        if (key !== null && record && record.userId === userId && isLiveRecord(record)) {
          entries.push({ key, record });
        }
      }
    }
    return entries;
  }

  /** One REVOKE_ALL script per batch. */
  async revokeAllForUser(
    userId: string,
    revokedAt: number,
    ttlMs: number,
    exceptKey: string | undefined,
    bounded: Bounded,
  ): Promise<number> {
    const { driver, prefix } = this.settings;
    const ttl = String(toTtl(ttlMs));
    // Batches, each bounded on its own (as in listForUser).
    let revoked = 0;
    for (let more = true; more;) {
      const reply = await bounded(() =>
        runScript(
          driver,
          REVOKE_ALL,
          [`${prefix}user:${userId}`],
          [prefix, userId, String(revokedAt), ttl, exceptKey ?? ''],
        ),
      );
      if (!Array.isArray(reply) || typeof reply[0] !== 'number') break;
      revoked += reply[0];
      more = reply[1] === 1;
    }
    return revoked;
  }

  /**
   * One CLAIM script per batch: claims, re-checks and reads the records in
   * one atomic step, so of two app instances claiming at once each member
   * goes to one.
   */
  async claimExpired(before: number, limit: number, bounded: Bounded): Promise<UserSessionEntry[]> {
    const { driver, prefix } = this.settings;
    const idx = expiryIndexKey(prefix);
    return claimInBatches(limit, bounded, async (count) => {
      const reply = await runScript(
        driver,
        CLAIM,
        [idx],
        [prefix, String(before), String(Date.now()), String(count)],
      );
      if (!Array.isArray(reply) || typeof reply[0] !== 'number') {
        throw new Error('unexpected reply to claimExpired');
      }
      const entries: UserSessionEntry[] = [];
      for (let i = 1; i + 1 < reply.length; i += 2) {
        const key = asString(reply[i]);
        const record = decodeRecord(reply[i + 1]);
        if (key !== null && record && isLiveRecord(record)) entries.push({ key, record });
      }
      return { entries, full: reply[0] === count };
    });
  }

  /** One REDEEM script: the checks, the rotation or the revocation, and the index work. */
  async redeem(key: string, request: RedeemRequest): Promise<RedeemOutcome> {
    const { driver, prefix } = this.settings;
    const reply = redeemReply(
      await runScript(
        driver,
        REDEEM,
        [prefix + key],
        [INLINE, prefix, key, ...redeemArgs(request)],
      ),
    );
    // Inline, REDEEM extends the index itself: it never leaves that to the caller.
    if (reply.extendTtl !== undefined) throw new Error('unexpected reply to redeemRefreshToken');
    return reply.outcome;
  }
}
