import { isLiveRecord, type UserSessionEntry } from '../session-record.js';
import { runScript } from './redis-driver.js';
import {
  asString,
  expiryIndexKey,
  keepFor,
  readSession,
  revokeFollowing,
  type RedisTopologySettings,
} from './redis-topology.js';
import { CLAIM_INDEX, EXPIRY_ADD, INDEX_ADD, INDEX_BATCH, PRUNE } from './redis.scripts.js';

/** Scripts touch only their KEYS[1]; the index steps are separate calls (these). */
export const INLINE = '0';
/** Index entries younger than this are never pruned (their write may be in flight). */
const PRUNE_GRACE_MS = 10_000;

/**
 * Cluster: the user index `<prefix>user:<userId>` as separate calls (a
 * session and its index live on different slots, so no script can touch
 * both). ClusterOperations runs these steps in its safe orders.
 */
export class ClusterUserIndex {
  constructor(
    private readonly settings: RedisTopologySettings,
    private readonly expiry: ClusterExpiryIndex,
  ) {}

  /**
   * The index in score order (oldest first), split into live sessions and
   * dead members; read in batches of {@link INDEX_BATCH}, the `limit`
   * oldest entries only when given.
   */
  async read(
    userId: string,
    limit = Infinity,
  ): Promise<{ live: UserSessionEntry[]; dead: string[] }> {
    const { driver, prefix } = this.settings;
    const idx = this.key(userId);
    const live: UserSessionEntry[] = [];
    const dead: string[] = [];
    for (let start = 0; start < limit; start += INDEX_BATCH) {
      let members: unknown;
      try {
        const stop = String(Math.min(start + INDEX_BATCH, limit) - 1);
        members = await driver.send(['ZRANGE', idx, String(start), stop], idx);
      } catch (error) {
        if (error instanceof Error && error.message.startsWith('WRONGTYPE')) break;
        throw error;
      }
      const keys = Array.isArray(members)
        ? members.map(asString).filter((m): m is string => m !== null)
        : [];
      const records = await Promise.all(keys.map((key) => readSession(driver, prefix + key)));
      keys.forEach((key, i) => {
        const record = records[i];
        if (record && record.userId === userId && isLiveRecord(record)) live.push({ key, record });
        else dead.push(key);
      });
      if (!Array.isArray(members) || members.length < INDEX_BATCH) break;
    }
    return { live, dead };
  }

  /** Adds `key` (`keepScore`: an existing entry keeps its rank); answers [horizon, members]. */
  async add(
    userId: string,
    key: string,
    ttlMs: number,
    keepScore: boolean,
  ): Promise<[number, number]> {
    const reply = await runScript(
      this.settings.driver,
      INDEX_ADD,
      [this.key(userId)],
      [key, String(keepFor(ttlMs)), keepScore ? '1' : '0'],
    );
    if (!Array.isArray(reply) || typeof reply[0] !== 'number' || typeof reply[1] !== 'number') {
      throw new Error('unexpected reply to index add');
    }
    return [reply[0], reply[1]];
  }

  async remove(userId: string, keys: string[]): Promise<void> {
    const idx = this.key(userId);
    try {
      await this.settings.driver.send(['ZREM', idx, ...keys], idx);
    } catch (error) {
      // a foreign value under the index key holds none of our entries
      if (!(error instanceof Error && error.message.startsWith('WRONGTYPE'))) throw error;
    }
  }

  /** Removes members found dead by {@link read}, unless indexed too recently. */
  async prune(userId: string, dead: string[]): Promise<void> {
    await runScript(
      this.settings.driver,
      PRUNE,
      [this.key(userId)],
      [String(PRUNE_GRACE_MS), ...dead],
    );
  }

  /**
   * Tombstones each key that is still a live session of `userId` (following
   * forwards), then unindexes those; {@link INDEX_BATCH} at a time. Answers
   * which of `keys` led to a revocation.
   */
  async revokeSessions(
    userId: string,
    keys: string[],
    revokedAt: string,
    ttl: string,
  ): Promise<string[]> {
    const all: string[] = [];
    for (let i = 0; i < keys.length; i += INDEX_BATCH) {
      const batch = keys.slice(i, i + INDEX_BATCH);
      const results = await Promise.all(
        batch.map((key) => revokeFollowing(this.settings, INLINE, key, revokedAt, ttl, userId)),
      );
      // Where each revocation landed (a forward leads on to its session): those leave the indexes.
      const revoked = results.filter((r) => r !== null).map((r) => r.key);
      if (revoked.length > 0) {
        await Promise.all([this.remove(userId, revoked), this.expiry.remove(revoked)]);
      }
      all.push(...batch.filter((_, j) => results[j] !== null));
    }
    return all;
  }

  private key(userId: string): string {
    return `${this.settings.prefix}user:${userId}`;
  }
}

/**
 * Cluster: the expiry index `<prefix>expiry` (see redis.scripts.ts) as
 * separate calls. Its slot is not the session's, so ClusterOperations sends
 * each step alongside the session's own command (concurrently: a write still
 * costs one round trip of latency) rather than after it.
 *
 * Why a lost or reordered index step is harmless: the index only ever
 * decides what a claim looks at and what the gauge counts. A claim removes a
 * member and then re-reads its record: one that is gone, a tombstone or a
 * forward is just dropped, and a live one whose TTL ends later than the
 * member said goes back in at its real end (PTTL), so a session is never
 * reported expired while it lives. A member left behind by a write that
 * failed, or added after a concurrent delete, is dropped by the first claim
 * that reaches it; until then the gauge counts it, and the gauge is an
 * estimate. What can be lost is the `expired` event of a session whose add
 * was lost while the index held no entry for it (a new session, or one a
 * claim had just taken). So failures here never fail the session
 * operation they go with (they are swallowed), which keeps a slow or failing
 * index node from taking every session write down with it.
 */
export class ClusterExpiryIndex {
  private readonly key: string;

  constructor(private readonly settings: RedisTopologySettings) {
    this.key = expiryIndexKey(settings.prefix);
  }

  /** A new session (set, log-in, a rotation's new key): EXPIRY_ADD, which also trims stale entries. */
  async addNew(member: string, at: string): Promise<void> {
    if (at === '') return this.remove([member]);
    await quietly(runScript(this.settings.driver, EXPIRY_ADD, [this.key], [member, at]));
  }

  /** A TTL set again (update, a family's rotation, a claim's re-index): one ZADD. */
  async add(member: string, at: string): Promise<void> {
    await quietly(this.settings.driver.send(['ZADD', this.key, at, member], this.key));
  }

  async remove(members: string[]): Promise<void> {
    if (members.length === 0) return;
    await quietly(this.settings.driver.send(['ZREM', this.key, ...members], this.key));
  }

  /**
   * Claims up to `count` members due by `before` (CLAIM_INDEX, atomic on the
   * index: each goes to one caller), then reads each record and its PTTL
   * together, and re-checks them as CLAIM does on standalone.
   */
  async claim(
    before: number,
    count: number,
  ): Promise<{ entries: UserSessionEntry[]; full: boolean }> {
    const { driver, prefix } = this.settings;
    const reply = await runScript(driver, CLAIM_INDEX, [this.key], [String(before), String(count)]);
    const members = Array.isArray(reply)
      ? reply.map(asString).filter((m): m is string => m !== null)
      : [];
    const now = Date.now();
    const read = await Promise.all(
      members.map((member) => {
        const k = prefix + member;
        return Promise.all([readSession(driver, k), driver.send(['PTTL', k], k)]);
      }),
    );
    const entries: UserSessionEntry[] = [];
    const later: Promise<void>[] = [];
    members.forEach((key, i) => {
      const [record, pttl] = read[i];
      if (!record || !isLiveRecord(record)) return;
      const ends = typeof pttl === 'number' && pttl >= 0 ? now + pttl : -Infinity;
      if (ends > before) later.push(this.add(key, String(ends)));
      else entries.push({ key, record });
    });
    await Promise.all(later);
    return { entries, full: members.length === count };
  }
}

/** Runs an expiry index step whose failure must not fail the operation (see ClusterExpiryIndex). */
async function quietly(step: Promise<unknown>): Promise<void> {
  try {
    await step;
  } catch {
    // harmless: see ClusterExpiryIndex
  }
}
