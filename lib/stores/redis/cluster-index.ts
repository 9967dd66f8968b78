import { isLiveRecord, type UserSessionEntry } from '../session-record.js';
import { runScript } from './redis-driver.js';
import {
  asString,
  keepFor,
  readSession,
  revokeFollowing,
  type RedisTopologySettings,
} from './redis-topology.js';
import { INDEX_ADD, INDEX_BATCH, PRUNE } from './redis.scripts.js';

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
  constructor(private readonly settings: RedisTopologySettings) {}

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
   * forwards), then unindexes those; {@link INDEX_BATCH} at a time.
   */
  async revokeSessions(
    userId: string,
    keys: string[],
    revokedAt: string,
    ttl: string,
  ): Promise<number> {
    let count = 0;
    for (let i = 0; i < keys.length; i += INDEX_BATCH) {
      const results = await Promise.all(
        keys
          .slice(i, i + INDEX_BATCH)
          .map((key) => revokeFollowing(this.settings, INLINE, key, revokedAt, ttl, userId)),
      );
      const revoked = results.filter((r) => r !== null).map((r) => r.key);
      if (revoked.length > 0) await this.remove(userId, revoked);
      count += revoked.length;
    }
    return count;
  }

  private key(userId: string): string {
    return `${this.settings.prefix}user:${userId}`;
  }
}
