import { createRequire } from 'node:module';
import type { Cluster, Redis, RedisOptions } from 'ioredis';
import {
  isNodeRedisClient,
  NodeRedisDriver,
  type NodeRedisClientLike,
  type NodeRedisClusterLike,
} from './redis/node-redis.adapter.js';
import {
  IoredisDriver,
  isIoredisClient,
  runScript,
  type RedisDriver,
} from './redis/redis-driver.js';
import {
  COUNT,
  DESTROY,
  EXTEND,
  INDEX_ADD,
  INDEX_BATCH,
  LIST,
  MOVE,
  PRUNE,
  PUT,
  PUT_CAPPED,
  REVOKE,
  REVOKE_ALL,
  ROTATE,
  UPDATE,
} from './redis/redis.scripts.js';
import { OperationDeadlines } from './redis/operation-deadlines.js';
import { DATA_FIELD_PREFIX, decodeRecord, encodeRecord } from './redis/session-hash.js';
import { resolveMaxSessionsPerUser } from './per-user-cap.js';
import {
  isLiveRecord,
  type SessionPatch,
  type SessionRecord,
  type UserSessionEntry,
} from './session-record.js';
import {
  MAX_FORWARD_HOPS,
  type RotateOptions,
  type RotateOutcome,
  type SessionStore,
} from './session-store.interface.js';

/**
 * Options of {@link RedisStore}: give exactly one of `client`, `url` or
 * `redisOptions` (`url` may be combined with `redisOptions`).
 */
export interface RedisStoreOptions {
  /**
   * A client the app owns and closes: an ioredis `Redis` or `Cluster` (the
   * documented default), or a connected node-redis client or cluster
   * (`createClient()` / `createCluster()` from `redis`). The store never
   * closes it. Recommended so that a Redis outage fails requests fast
   * instead of queueing them (the store also gives up on any call after
   * `operationTimeoutMs`, whatever the client does):
   *
   * - ioredis `Redis`: `{ commandTimeout: 1000, maxRetriesPerRequest: 1,
   *   retryStrategy: (n) => Math.min(n * 100, 1000), enableAutoPipelining:
   *   true }` (retrying forever; auto-pipelining sends the commands of one
   *   tick in one socket write, which under load saves both Node and Redis
   *   a system call per command);
   *   no `keyPrefix` (use `prefix`); an `'error'` listener (else ioredis
   *   prints every reconnect failure).
   * - ioredis `Cluster`: `{ clusterRetryStrategy: (n) => Math.min(n * 100,
   *   1000), redisOptions: { commandTimeout: 1000, maxRetriesPerRequest: 1 } }`.
   * - node-redis: `{ disableOfflineQueue: true, socket: { reconnectStrategy:
   *   (n) => Math.min(n * 100, 1000) } }`, plus an `'error'` listener (node-redis
   *   throws on unhandled error events).
   *
   * Default: none.
   */
  client?: Redis | Cluster | NodeRedisClientLike | NodeRedisClusterLike;
  /**
   * `redis://` or `rediss://` URL of a standalone server; the store creates
   * an ioredis client (with the fast-failure settings above) and closes it in
   * `close()`. Default: none.
   */
  url?: string;
  /**
   * ioredis options for a client the store creates and closes; they override
   * the store's fast-failure defaults. Default: none.
   */
  redisOptions?: RedisOptions;
  /**
   * Prefix of every key the store writes: sessions are `<prefix><key>`, user
   * indexes `<prefix>user:<userId>`. Default `'sess:'`.
   */
  prefix?: string;
  /**
   * Most live sessions one user may hold; a log-in beyond it revokes that
   * user's sessions indexed longest ago (logged in or rotated first), leaving
   * tombstones so they are told `revoked`. A rotation of a session never
   * counts against it. It also bounds what a listing or "log out everywhere"
   * of one user walks. `Infinity`: no limit (listings and revocations still
   * run in batches of 200, so Redis is never blocked for long). Default `100`.
   */
  maxSessionsPerUser?: number;
  /**
   * Upper bound, in ms, on any store call: past it the call rejects even if
   * the client would keep waiting (an app-owned client with an unbounded
   * offline queue, a Cluster that is re-discovering its nodes). Default `1500`.
   */
  operationTimeoutMs?: number;
}

/** A Redis call failed; the message never carries keys, IDs or session data. */
export class RedisStoreError extends Error {
  constructor(operation: string, reason: string) {
    super(`RedisStore.${operation} failed: ${reason}`);
    this.name = 'RedisStoreError';
  }
}

/**
 * How long a user index outlives the sessions it lists (each session records
 * this horizon and extends it when its own TTL would pass it), so that a
 * sliding session never outlives its index entry and an index extension is
 * rarely needed (once per day of activity).
 */
const INDEX_GRACE_MS = 24 * 3_600_000;
/** Cluster: index entries younger than this are never pruned (their write may be in flight). */
const PRUNE_GRACE_MS = 10_000;
/** Cluster: the index node's clock and a session node's clock may differ by this much. */
const CLOCK_MARGIN_MS = 60_000;

/**
 * Settings for clients the store creates: fail fast while Redis is down,
 * reconnect forever, and auto-pipeline (under load, one socket write per tick
 * instead of per command; ioredis then bounds such calls by
 * `operationTimeoutMs` rather than `commandTimeout`).
 */
const FAST_FAILURE: RedisOptions = {
  commandTimeout: 1_000,
  maxRetriesPerRequest: 1,
  connectTimeout: 1_000,
  retryStrategy: (times) => Math.min(times * 100, 1_000),
  enableAutoPipelining: true,
};

/**
 * Sessions in Redis (standalone or Cluster), shared by every app instance.
 *
 * A session is a hash (one field per top-level data key plus metadata), so a
 * delta save writes only the changed fields and concurrent writes of
 * different keys both survive. A user's sessions are listed in a sorted set
 * `<prefix>user:<userId>` with a TTL, pruned lazily.
 *
 * On standalone Redis every operation is one round trip: one script, run by
 * SHA, or one HGETALL for `get`. On Cluster a session and its user index live
 * on different slots, so set, rotate, destroy and revoke take a few ordered
 * steps (see each method); `get` and `update` stay one round trip.
 */
export class RedisStore implements SessionStore {
  private readonly driver: RedisDriver;
  private readonly owned: boolean;
  private readonly prefix: string;
  private readonly maxSessionsPerUser: number;
  private readonly operationTimeoutMs: number;
  private readonly deadlines: OperationDeadlines;
  private closed = false;
  private readonly inline: string;

  constructor(options: RedisStoreOptions) {
    const sources = [options.client, options.url ?? options.redisOptions].filter(Boolean);
    if (sources.length !== 1) {
      throw new TypeError('RedisStore: pass exactly one of `client`, `url` or `redisOptions`');
    }
    this.prefix = options.prefix ?? 'sess:';
    this.maxSessionsPerUser = resolveMaxSessionsPerUser('RedisStore', options.maxSessionsPerUser);
    this.operationTimeoutMs = options.operationTimeoutMs ?? 1_500;
    this.deadlines = new OperationDeadlines(this.operationTimeoutMs);
    if (options.client) {
      if (isIoredisClient(options.client)) this.driver = new IoredisDriver(options.client);
      else if (isNodeRedisClient(options.client)) this.driver = new NodeRedisDriver(options.client);
      else
        throw new TypeError('RedisStore: `client` is neither an ioredis nor a node-redis client');
      this.owned = false;
    } else {
      this.driver = new IoredisDriver(createIoredis(options.url, options.redisOptions));
      this.owned = true;
    }
    this.inline = this.driver.isCluster ? '0' : '1';
  }

  /** One HGETALL on both topologies; anything but a hash this store wrote reads as no session. */
  async get(key: string): Promise<SessionRecord | null> {
    return this.run('get', async () => {
      try {
        return decodeRecord(
          await this.driver.send(['HGETALL', this.sessionKey(key)], this.sessionKey(key)),
        );
      } catch (error) {
        if (error instanceof Error && error.message.startsWith('WRONGTYPE')) return null;
        throw error;
      }
    });
  }

  async set(key: string, record: SessionRecord, ttlMs: number): Promise<void> {
    await this.run('set', () => this.put(key, undefined, record, ttlMs));
  }

  /** A forward is followed (each hop one round trip): the patch lands where the session moved. */
  async update(key: string, patch: SessionPatch, ttlMs: number): Promise<boolean> {
    return this.run('update', async () => {
      const ttl = String(toTtl(ttlMs));
      const pairs: string[] = [];
      for (const [name, value] of Object.entries(patch.set ?? {}))
        pairs.push(DATA_FIELD_PREFIX + name, value);
      const unset = (patch.unset ?? []).map((name) => DATA_FIELD_PREFIX + name);
      const lastSeenAt = patch.lastSeenAt === undefined ? '' : String(patch.lastSeenAt);
      let target = key;
      for (let hops = 0; hops <= MAX_FORWARD_HOPS; hops++) {
        const k = this.sessionKey(target);
        const reply = await runScript(
          this.driver,
          UPDATE,
          [k],
          [
            this.inline,
            this.prefix,
            target,
            ttl,
            String(keepFor(ttlMs)),
            lastSeenAt,
            String(pairs.length),
            ...pairs,
            ...unset,
          ],
        );
        if (reply === 0) return false;
        if (reply === 1) return true;
        const [code, value] = Array.isArray(reply) ? [reply[0], asString(reply[1])] : [];
        if (value === null || value === undefined) throw new Error('unexpected reply to update');
        if (code === 3) {
          target = value;
          continue;
        }
        if (code !== 2) throw new Error('unexpected reply to update');
        // Cluster, rarely: the session's TTL would pass its index's horizon.
        // Extend the index first, then the session, so it never outlives it.
        const [horizon] = await this.indexAdd(value, target, ttlMs, true);
        await runScript(this.driver, EXTEND, [k], [value, ttl, String(horizon - CLOCK_MARGIN_MS)]);
        return true;
      }
      return false;
    });
  }

  /**
   * A log-in (no `expectHandle`): a PUT that also deletes the old key, as
   * `set` does with the cap. A rotation: one ROTATE script on standalone.
   * Cluster order: (1) index the new key, (2) write the new session, (3)
   * MOVE the old key (the conditional step), (4) when MOVE did not answer
   * "rotated", delete the new session again; else unindex the old key. So a
   * forward always leads to a session that exists, and a destroy or revoke
   * of the old key that comes first makes step 3 fail.
   */
  async rotate(
    oldKey: string,
    newKey: string,
    record: SessionRecord,
    ttlMs: number,
    options: RotateOptions,
  ): Promise<RotateOutcome> {
    return this.run('rotate', async () => {
      const expect = options.expectHandle;
      if (expect === undefined) {
        await this.put(newKey, oldKey, record, ttlMs);
        return { status: 'rotated' };
      }
      const user = indexedUser(record);
      const forward = [
        expect,
        String(Math.max(0, Math.ceil(options.forwardMs))),
        options.readableUntil === undefined ? '' : String(options.readableUntil),
      ];
      if (!this.driver.isCluster) {
        const reply = await runScript(
          this.driver,
          ROTATE,
          [this.sessionKey(newKey), this.sessionKey(oldKey)],
          [
            '1',
            this.prefix,
            newKey,
            oldKey,
            String(toTtl(ttlMs)),
            String(keepFor(ttlMs)),
            user,
            ...forward,
            ...encodeRecord(record),
          ],
        );
        return rotateOutcome(reply);
      }
      await this.put(newKey, undefined, record, ttlMs, false);
      const reply = await runScript(
        this.driver,
        MOVE,
        [this.sessionKey(oldKey)],
        [...forward, newKey],
      );
      const outcome = rotateOutcome(reply);
      if (outcome.status !== 'rotated') {
        await runScript(
          this.driver,
          DESTROY,
          [this.sessionKey(newKey)],
          ['0', this.prefix, newKey],
        );
        if (user) await this.indexRemove(user, [newKey]);
      } else {
        const oldUser = Array.isArray(reply) ? asString(reply[1]) : null;
        if (oldUser) await this.indexRemove(oldUser, [oldKey]);
      }
      return outcome;
    });
  }

  /**
   * Deletes the session and, along its forwards, every session it moved
   * into. Cluster order per key: delete the session, then remove its index
   * entry, so a failure in between leaves only a dangling index entry
   * (pruned later).
   */
  async destroy(key: string): Promise<void> {
    await this.run('destroy', async () => {
      let target: string | null = key;
      for (let hops = 0; target && hops <= MAX_FORWARD_HOPS; hops++) {
        const reply = await runScript(
          this.driver,
          DESTROY,
          [this.sessionKey(target)],
          [this.inline, this.prefix, target],
        );
        const [user, movedTo] = Array.isArray(reply)
          ? [asString(reply[0]), asString(reply[1])]
          : [null, null];
        if (this.driver.isCluster && user) await this.indexRemove(user, [target]);
        target = movedTo;
      }
    });
  }

  /** Follows forwards. Cluster order: tombstone first, then the index entry (as for destroy). */
  async revoke(key: string, revokedAt: number, ttlMs: number): Promise<boolean> {
    return this.run('revoke', async () => {
      const revoked = await this.revokeFollowing(key, String(revokedAt), String(toTtl(ttlMs)), '');
      if (this.driver.isCluster && revoked) await this.indexRemove(revoked.user, [revoked.key]);
      return revoked !== null;
    });
  }

  /**
   * In batches of {@link INDEX_BATCH} entries: on standalone one script each,
   * each bounded by `operationTimeoutMs` on its own (a user with very many
   * sessions takes many short calls, never one long one).
   */
  async listForUser(userId: string): Promise<UserSessionEntry[]> {
    const idx = this.indexKey(userId);
    if (!this.driver.isCluster) {
      const entries: UserSessionEntry[] = [];
      for (let start = 0; start >= 0;) {
        const reply = await this.run('listForUser', () =>
          runScript(this.driver, LIST, [idx], [this.prefix, userId, String(start)]),
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
    return this.run('listForUser', async () => {
      const { live, dead } = await this.readIndex(userId);
      if (dead.length > 0)
        await runScript(this.driver, PRUNE, [idx], [String(PRUNE_GRACE_MS), ...dead]);
      return live;
    });
  }

  /**
   * Revokes every live session of a user (but `exceptKey`), leaving
   * tombstones kept `ttlMs`; answers how many were revoked. On standalone
   * one script per batch of {@link INDEX_BATCH} entries; on Cluster the index is read, then each session is revoked
   * (only if still that user's), then the revoked entries leave the index.
   */
  async revokeAllForUser(
    userId: string,
    revokedAt: number,
    ttlMs: number,
    exceptKey?: string,
  ): Promise<number> {
    const ttl = String(toTtl(ttlMs));
    if (!this.driver.isCluster) {
      // Batches, each bounded on its own (as in listForUser).
      let revoked = 0;
      for (let more = true; more;) {
        const reply = await this.run('revokeAllForUser', () =>
          runScript(
            this.driver,
            REVOKE_ALL,
            [this.indexKey(userId)],
            [this.prefix, userId, String(revokedAt), ttl, exceptKey ?? ''],
          ),
        );
        if (!Array.isArray(reply) || typeof reply[0] !== 'number') break;
        revoked += reply[0];
        more = reply[1] === 1;
      }
      return revoked;
    }
    return this.run('revokeAllForUser', async () => {
      const { live } = await this.readIndex(userId);
      const targets = live.map((entry) => entry.key).filter((key) => key !== exceptKey);
      return this.revokeOnCluster(userId, targets, String(revokedAt), ttl);
    });
  }

  /**
   * Fixed-window counter shared by every app instance (the module's guessing
   * defence): one script on `<prefix>count:<key>`, one round trip on both
   * topologies. Answers the count including this call.
   */
  async incrementCounter(key: string, windowMs: number): Promise<number> {
    return this.run('incrementCounter', async () => {
      const reply = await runScript(
        this.driver,
        COUNT,
        [`${this.prefix}count:${key}`],
        [String(toTtl(windowMs))],
      );
      if (typeof reply !== 'number') throw new Error('unexpected reply to incrementCounter');
      return reply;
    });
  }

  /** Closes the connection if the store created it; an app's client is left open. */
  async close(): Promise<void> {
    // Idempotent: apps sharing one store each close it on shutdown.
    if (this.closed) return;
    this.closed = true;
    this.deadlines.close();
    if (this.owned) await this.driver.close();
  }

  /**
   * set and a log-in's rotate. Standalone: one script. Cluster order: (1)
   * index the new key, so the session is never live outside its index; (2)
   * on rotate, delete the old session, so a failure never leaves it
   * readable; (3) write the session; (4) drop stale index entries; (5)
   * enforce maxSessionsPerUser (`capped`: a new session, not a rotation).
   */
  private async put(
    key: string,
    oldKey: string | undefined,
    record: SessionRecord,
    ttlMs: number,
    capped = true,
  ) {
    const user = indexedUser(record);
    const limited = capped && this.maxSessionsPerUser !== Infinity;
    const args = (horizon: string) => [
      this.inline,
      this.prefix,
      key,
      oldKey ?? '',
      String(toTtl(ttlMs)),
      String(keepFor(ttlMs)),
      user,
      limited ? String(this.maxSessionsPerUser) : '0',
      horizon,
      ...encodeRecord(record),
    ];
    const k = this.sessionKey(key);
    if (!this.driver.isCluster) {
      const keys = oldKey === undefined ? [k] : [k, this.sessionKey(oldKey)];
      await runScript(this.driver, limited ? PUT_CAPPED : PUT, keys, args(''));
      return;
    }
    let horizon = '';
    let members = 0;
    if (user) {
      const [indexHorizon, count] = await this.indexAdd(user, key, ttlMs, false);
      horizon = String(indexHorizon - CLOCK_MARGIN_MS);
      members = count;
    }
    let oldUser: string | null = null;
    if (oldKey !== undefined) {
      const reply = await runScript(
        this.driver,
        DESTROY,
        [this.sessionKey(oldKey)],
        ['0', this.prefix, oldKey],
      );
      oldUser = Array.isArray(reply) ? asString(reply[0]) : null;
    }
    const reply = await runScript(this.driver, PUT, [k], args(horizon));
    const previous = Array.isArray(reply) ? asString(reply[0]) : null;
    if (oldUser && oldKey !== undefined) await this.indexRemove(oldUser, [oldKey]);
    if (previous && previous !== user) await this.indexRemove(previous, [key]);
    if (user && limited && members > this.maxSessionsPerUser) {
      const { live } = await this.readIndex(user);
      const others = live.filter((entry) => entry.key !== key);
      const excess = others.slice(0, Math.max(0, others.length + 1 - this.maxSessionsPerUser));
      const revokedAt = String(Date.now());
      await this.revokeOnCluster(
        user,
        excess.map((entry) => entry.key),
        revokedAt,
        '',
      );
    }
  }

  /**
   * Cluster: the index in score order (oldest first), split into live
   * sessions and dead members; read in batches of {@link INDEX_BATCH}.
   */
  private async readIndex(userId: string): Promise<{ live: UserSessionEntry[]; dead: string[] }> {
    const idx = this.indexKey(userId);
    const live: UserSessionEntry[] = [];
    const dead: string[] = [];
    for (let start = 0; ; start += INDEX_BATCH) {
      let members: unknown;
      try {
        const stop = String(start + INDEX_BATCH - 1);
        members = await this.driver.send(['ZRANGE', idx, String(start), stop], idx);
      } catch (error) {
        if (error instanceof Error && error.message.startsWith('WRONGTYPE')) break;
        throw error;
      }
      const keys = Array.isArray(members)
        ? members.map(asString).filter((m): m is string => m !== null)
        : [];
      const records = await Promise.all(keys.map((key) => this.readForIndex(key)));
      keys.forEach((key, i) => {
        const record = records[i];
        if (record && record.userId === userId && isLiveRecord(record)) live.push({ key, record });
        else dead.push(key);
      });
      if (!Array.isArray(members) || members.length < INDEX_BATCH) break;
    }
    return { live, dead };
  }

  private async readForIndex(key: string): Promise<SessionRecord | null> {
    const k = this.sessionKey(key);
    try {
      return decodeRecord(await this.driver.send(['HGETALL', k], k));
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('WRONGTYPE')) return null;
      throw error;
    }
  }

  /**
   * Cluster: tombstones each key that is still a live session of `userId`
   * (following forwards), then unindexes those; {@link INDEX_BATCH} at a time.
   */
  private async revokeOnCluster(
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
          .map((key) => this.revokeFollowing(key, revokedAt, ttl, userId)),
      );
      const revoked = results.filter((r) => r !== null).map((r) => r.key);
      if (revoked.length > 0) await this.indexRemove(userId, revoked);
      count += revoked.length;
    }
    return count;
  }

  /**
   * Revokes the session under `key` or, on a forward, the one it leads to.
   * Answers the key and user of the session revoked, or null (none was live).
   */
  private async revokeFollowing(
    key: string,
    revokedAt: string,
    ttl: string,
    onlyUser: string,
  ): Promise<{ key: string; user: string } | null> {
    let target = key;
    for (let hops = 0; hops <= MAX_FORWARD_HOPS; hops++) {
      const reply = await runScript(
        this.driver,
        REVOKE,
        [this.sessionKey(target)],
        [this.inline, this.prefix, target, revokedAt, ttl, onlyUser],
      );
      if (!Array.isArray(reply)) throw new Error('unexpected reply to revoke');
      const info = asString(reply[1]) ?? '';
      if (reply[0] !== 2) return reply[0] === 1 ? { key: target, user: info } : null;
      target = info;
    }
    return null;
  }

  private async indexAdd(
    userId: string,
    key: string,
    ttlMs: number,
    keepScore: boolean,
  ): Promise<[number, number]> {
    const reply = await runScript(
      this.driver,
      INDEX_ADD,
      [this.indexKey(userId)],
      [key, String(keepFor(ttlMs)), keepScore ? '1' : '0'],
    );
    if (!Array.isArray(reply) || typeof reply[0] !== 'number' || typeof reply[1] !== 'number') {
      throw new Error('unexpected reply to index add');
    }
    return [reply[0], reply[1]];
  }

  private async indexRemove(userId: string, keys: string[]): Promise<void> {
    const idx = this.indexKey(userId);
    try {
      await this.driver.send(['ZREM', idx, ...keys], idx);
    } catch (error) {
      // a foreign value under the index key holds none of our entries
      if (!(error instanceof Error && error.message.startsWith('WRONGTYPE'))) throw error;
    }
  }

  private sessionKey(key: string): string {
    return this.prefix + key;
  }

  private indexKey(userId: string): string {
    return `${this.prefix}user:${userId}`;
  }

  /**
   * Bounds the call by `operationTimeoutMs` and replaces client errors by a
   * RedisStoreError carrying only the reason (client errors may hold the
   * command's arguments: keys and session data).
   */
  private async run<T>(operation: string, work: () => Promise<T>): Promise<T> {
    try {
      return await this.deadlines.run(
        work,
        () => new RedisStoreError(operation, `no answer within ${this.operationTimeoutMs} ms`),
      );
    } catch (error) {
      if (error instanceof RedisStoreError) throw error;
      throw new RedisStoreError(operation, error instanceof Error ? error.message : String(error));
    }
  }
}

/** ioredis is an optional peer: loaded only when the store must create a client. */
function createIoredis(url: string | undefined, options: RedisOptions | undefined): Redis {
  const require = createRequire(import.meta.url);
  let ioredis: { Redis: new (...args: unknown[]) => Redis };
  try {
    ioredis = require('ioredis');
  } catch {
    throw new TypeError(
      'RedisStore: `url` and `redisOptions` need the ioredis package (npm install ioredis)',
    );
  }
  const settings = { ...FAST_FAILURE, ...options };
  const client = url ? new ioredis.Redis(url, settings) : new ioredis.Redis(settings);
  // Failures reach callers as rejected calls; the session module logs them
  // once per outage. Without a listener ioredis prints every reconnect error.
  client.on('error', () => {});
  return client;
}

/** The user a record is indexed under ('' for none: anonymous, a tombstone or a forward). */
function indexedUser(record: SessionRecord): string {
  return record.userId !== undefined && isLiveRecord(record) ? record.userId : '';
}

/** A ROTATE or MOVE reply: { 1, _ } rotated, { 2, member } moved, { 0, _ } gone. */
function rotateOutcome(reply: unknown): RotateOutcome {
  if (!Array.isArray(reply)) throw new Error('unexpected reply to rotate');
  if (reply[0] === 1) return { status: 'rotated' };
  const to = asString(reply[1]);
  if (reply[0] === 2 && to) return { status: 'moved', to };
  return { status: 'gone' };
}

function toTtl(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs));
}

function keepFor(ttlMs: number): number {
  return toTtl(ttlMs) + INDEX_GRACE_MS;
}

function asString(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return null;
}
