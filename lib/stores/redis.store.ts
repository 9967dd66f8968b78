import { createRequire } from 'node:module';
import type { Cluster, Redis, RedisOptions } from 'ioredis';
import { ClusterOperations } from './redis/cluster.operations.js';
import { IoredisDriver, isIoredisClient } from './redis/ioredis.driver.js';
import {
  isNodeRedisClient,
  NodeRedisDriver,
  type NodeRedisClientLike,
  type NodeRedisClusterLike,
} from './redis/node-redis.driver.js';
import { OperationDeadlines } from './redis/operation-deadlines.js';
import { runScript, type RedisDriver } from './redis/redis-driver.js';
import {
  asString,
  expiryIndexKey,
  peekSession,
  readSession,
  toTtl,
  type RedisTopologyOperations,
} from './redis/redis-topology.js';
import { COUNT } from './redis/redis.scripts.js';
import { StandaloneOperations } from './redis/standalone.operations.js';
import { resolveMaxSessionsPerUser } from './per-user-cap.js';
import type { SessionPatch, SessionRecord, UserSessionEntry } from './session-record.js';
import type {
  RedeemOutcome,
  RedeemRequest,
  RotateOptions,
  RotateOutcome,
  SessionStore,
  SessionStoreStats,
  SetOutcome,
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
   * indexes `<prefix>user:<userId>`, the expiry index `<prefix>expiry`.
   * Default `'sess:'`.
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
 * `<prefix>user:<userId>` with a TTL, pruned lazily. Every live record is
 * also in one sorted set `<prefix>expiry` scored by when its TTL ends, which
 * `claimExpired` and `stats` read instead of a SCAN.
 *
 * On standalone Redis every operation is one round trip: one script, run by
 * SHA, or one HGETALL for `get`. On Cluster a session and its user index live
 * on different slots, so set, rotate, destroy and revoke take a few ordered
 * steps (see each method); `get` and `update` stay one round trip.
 * The commands of each topology are in redis/standalone.operations.ts and
 * redis/cluster.operations.ts; this class bounds and wraps every call.
 */
export class RedisStore implements SessionStore {
  private readonly driver: RedisDriver;
  private readonly owned: boolean;
  private readonly prefix: string;
  private readonly operationTimeoutMs: number;
  private readonly deadlines: OperationDeadlines;
  private readonly topology: RedisTopologyOperations;
  private closed = false;

  constructor(options: RedisStoreOptions) {
    const sources = [options.client, options.url ?? options.redisOptions].filter(Boolean);
    if (sources.length !== 1) {
      throw new TypeError('RedisStore: pass exactly one of `client`, `url` or `redisOptions`');
    }
    this.prefix = options.prefix ?? 'sess:';
    const maxSessionsPerUser = resolveMaxSessionsPerUser('RedisStore', options.maxSessionsPerUser);
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
    const settings = { driver: this.driver, prefix: this.prefix, maxSessionsPerUser };
    this.topology = this.driver.isCluster
      ? new ClusterOperations(settings)
      : new StandaloneOperations(settings);
  }

  /** One HGETALL on both topologies; anything but a hash this store wrote reads as no session. */
  async get(key: string): Promise<SessionRecord | null> {
    return this.run('get', () => readSession(this.driver, this.prefix + key));
  }

  /** One HMGET of the fixed fields: a family's token history is not read. */
  async peek(key: string): Promise<SessionRecord | null> {
    return this.run('peek', () => peekSession(this.driver, this.prefix + key));
  }

  async set(key: string, record: SessionRecord, ttlMs: number): Promise<SetOutcome> {
    return {
      capped: await this.run('set', () => this.topology.put(key, undefined, record, ttlMs)),
    };
  }

  /** A forward is followed (each hop one round trip): the patch lands where the session moved. */
  async update(key: string, patch: SessionPatch, ttlMs: number): Promise<boolean> {
    return this.run('update', () => this.topology.update(key, patch, ttlMs));
  }

  /**
   * A log-in (no `expectHandle`): a put that also deletes the old key, as
   * `set` does with the cap. A rotation: one ROTATE script on standalone, a
   * few ordered steps on Cluster (see ClusterOperations.rotate).
   */
  async rotate(
    oldKey: string,
    newKey: string,
    record: SessionRecord,
    ttlMs: number,
    options: RotateOptions,
  ): Promise<RotateOutcome> {
    return this.run('rotate', async () => {
      const expectHandle = options.expectHandle;
      if (expectHandle === undefined) {
        const capped = await this.topology.put(newKey, oldKey, record, ttlMs);
        return capped.length > 0 ? { status: 'rotated', capped } : { status: 'rotated' };
      }
      return this.topology.rotate(oldKey, newKey, record, ttlMs, { ...options, expectHandle });
    });
  }

  /** Deletes the session and, along its forwards, every session it moved into. */
  async destroy(key: string): Promise<void> {
    await this.run('destroy', () => this.topology.destroy(key));
  }

  /** Follows forwards. */
  async revoke(key: string, revokedAt: number, ttlMs: number): Promise<boolean> {
    return this.run('revoke', () => this.topology.revoke(key, revokedAt, ttlMs));
  }

  /**
   * In batches of `INDEX_BATCH` (200) entries: on standalone one script each,
   * each bounded by `operationTimeoutMs` on its own (a user with very many
   * sessions takes many short calls, never one long one); on Cluster one
   * bounded walk of the index.
   */
  async listForUser(userId: string): Promise<UserSessionEntry[]> {
    return this.topology.listForUser(userId, (work) => this.run('listForUser', work));
  }

  /**
   * Revokes every live session of a user (but `exceptKey`), leaving
   * tombstones kept `ttlMs`; answers how many were revoked. On standalone
   * one script per batch of `INDEX_BATCH` entries, each bounded on its own;
   * on Cluster the index is read, then each session is revoked (only if
   * still that user's), then the revoked entries leave the index.
   */
  async revokeAllForUser(
    userId: string,
    revokedAt: number,
    ttlMs: number,
    exceptKey?: string,
  ): Promise<number> {
    return this.topology.revokeAllForUser(userId, revokedAt, ttlMs, exceptKey, (work) =>
      this.run('revokeAllForUser', work),
    );
  }

  /**
   * Redeems a refresh token: one REDEEM script on the family's key checks
   * and writes atomically on both topologies (never a read then a write from
   * here), so of two concurrent redemptions of one token at most one
   * rotates. On Cluster the index steps follow it: the entry of a family
   * revoked for reuse is removed afterwards, as after `revoke`.
   */
  async redeemRefreshToken(key: string, request: RedeemRequest): Promise<RedeemOutcome> {
    return this.run('redeemRefreshToken', () => this.topology.redeem(key, request));
  }

  /**
   * Claims the records of the expiry index due by `before`: on standalone one
   * CLAIM script per batch of up to `INDEX_BATCH` (200) members, claiming,
   * re-checking and reading at once; on Cluster a CLAIM_INDEX script on the
   * index per batch, then each record read (HGETALL and PTTL) and re-checked.
   * Each batch is bounded by `operationTimeoutMs` on its own.
   */
  async claimExpired(before: number, limit: number): Promise<UserSessionEntry[]> {
    if (!(limit >= 1)) return [];
    return this.topology.claimExpired(before, Math.floor(limit), (work) =>
      this.run('claimExpired', work),
    );
  }

  /**
   * `activeSessions`: ZCOUNT of the expiry index from now on (records whose
   * TTL has not ended; O(log n), no SCAN). `memoryBytes`: `used_memory` of
   * INFO memory, summed over a Cluster's masters (the whole server's memory,
   * sessions and anything else it holds). Sent together: one round trip.
   */
  async stats(): Promise<SessionStoreStats> {
    return this.run('stats', async () => {
      const idx = expiryIndexKey(this.prefix);
      const [count, infos] = await Promise.all([
        this.driver
          .send(['ZCOUNT', idx, String(Date.now()), '+inf'], idx)
          .catch((error: unknown) => {
            // a foreign value under the index key counts nothing
            if (error instanceof Error && error.message.startsWith('WRONGTYPE')) return 0;
            throw error;
          }),
        this.driver.sendToMasters(['INFO', 'memory']),
      ]);
      if (typeof count !== 'number') throw new Error('unexpected reply to stats');
      const stats: SessionStoreStats = { activeSessions: count };
      const used = infos.map((info) => /^used_memory:(\d+)\r?$/m.exec(asString(info) ?? '')?.[1]);
      if (used.length > 0 && used.every((bytes) => bytes !== undefined)) {
        stats.memoryBytes = used.reduce((sum, bytes) => sum + Number(bytes), 0);
      }
      return stats;
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
