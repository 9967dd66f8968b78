import { afterAll, describe, expect, it } from '@jest/globals';
import { Cluster, Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { createClient, createCluster } from 'redis';
import { RedisStore } from '../../lib/stores/redis.store.js';
import { REFRESH_TOKEN_HISTORY, type SessionRecord } from '../../lib/stores/session-record.js';
import type { RedeemRequest } from '../../lib/stores/session-store.interface.js';
import {
  startRedis,
  startRedisCluster,
  type RedisClusterServers,
  type RedisServer,
} from '../support/redis-servers.js';
import { runSessionStoreContract } from '../../lib/testing/index.js';

const HOUR = 3_600_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const key = () => randomBytes(32).toString('base64url');
const user = () => `user-${randomBytes(6).toString('hex')}`;
const prefix = () => `test:${randomBytes(4).toString('hex')}:`;
const record = (overrides: Partial<SessionRecord> = {}): SessionRecord => ({
  handle: randomBytes(16).toString('base64url'),
  createdAt: Date.now(),
  lastSeenAt: Date.now(),
  data: { views: '1' },
  ...overrides,
});
/** A refresh-token family (a log-in of token sessions), current token `token`. */
const family = (token: string, overrides: Partial<SessionRecord> = {}) =>
  record({ userId: user(), data: {}, refresh: { current: token, generation: 1 }, ...overrides });
/** A redemption of `presented` now, with lifetimes no test reaches. */
const redemption = (presented: string, successor = key()): RedeemRequest => ({
  presented,
  successor,
  now: Date.now(),
  idleMs: HOUR,
  absoluteMs: 2 * HOUR,
  graceMs: 0,
  revokedTtlMs: HOUR,
});

/** Client settings the RedisStore JSDoc recommends for app-owned clients. */
const ioredisOptions = {
  commandTimeout: 1000,
  maxRetriesPerRequest: 1,
  retryStrategy: (n: number) => Math.min(n * 100, 1000),
};

// Servers are started once for this file, on first use, and stopped at its end.
const lazy = <T>(start: () => Promise<T>) => {
  let started: Promise<T> | undefined;
  return { get: () => (started ??= start()), started: () => started };
};
const shared = lazy(() => startRedis({ useExternal: true }));
const own = lazy(() => startRedis());
const cluster = lazy(() => startRedisCluster(3));
afterAll(async () => {
  for (const server of [shared, own, cluster]) {
    await (await server.started()?.catch(() => undefined))?.stop();
  }
});

const clusterClient = (servers: RedisClusterServers) =>
  new Cluster(servers.nodes, {
    clusterRetryStrategy: (n) => Math.min(n * 100, 1000),
    redisOptions: { commandTimeout: 1000, maxRetriesPerRequest: 1 },
  });

async function nodeRedisClient(server: RedisServer) {
  const client = createClient({ url: server.url });
  client.on('error', () => {});
  await client.connect();
  return client;
}

// Each contract case gets a store of its own under a fresh prefix, on a client
// it opens and closes (so no client outlives the servers stopped at the end).
runSessionStoreContract({
  name: 'RedisStore (ioredis, standalone)',
  createStore: async () => {
    const client = new Redis((await shared.get()).url, ioredisOptions);
    return Object.assign(new RedisStore({ client, prefix: prefix() }), {
      quit: () => client.quit(),
    });
  },
  destroyStore: async (store) => void (await store.close(), await store.quit()),
  describe,
  it,
});

runSessionStoreContract({
  name: 'RedisStore (ioredis, 3-master Cluster)',
  createStore: async () => {
    const client = clusterClient(await cluster.get());
    return Object.assign(new RedisStore({ client, prefix: prefix() }), {
      quit: () => client.quit(),
    });
  },
  destroyStore: async (store) => void (await store.close(), await store.quit()),
  describe,
  it,
});

runSessionStoreContract({
  name: 'RedisStore (node-redis, standalone)',
  createStore: async () => {
    const client = await nodeRedisClient(await shared.get());
    return Object.assign(new RedisStore({ client, prefix: prefix() }), {
      quit: () => client.close(),
    });
  },
  destroyStore: async (store) => void (await store.close(), await store.quit()),
  describe,
  it,
});

runSessionStoreContract({
  name: 'RedisStore (node-redis, 3-master Cluster)',
  createStore: async () => {
    const servers = await cluster.get();
    const client = createCluster({
      rootNodes: servers.nodes.map((node) => ({ url: `redis://${node.host}:${node.port}` })),
    });
    client.on('error', () => {});
    await client.connect();
    return Object.assign(new RedisStore({ client, prefix: prefix() }), {
      quit: () => client.close(),
    });
  },
  destroyStore: async (store) => void (await store.close(), await store.quit()),
  describe,
  it,
});

runSessionStoreContract({
  name: 'RedisStore (node-redis RESP3, standalone)',
  createStore: async () => {
    const client = createClient({ url: (await shared.get()).url, RESP: 3 });
    client.on('error', () => {});
    await client.connect();
    return Object.assign(new RedisStore({ client, prefix: prefix() }), {
      quit: () => client.close(),
    });
  },
  destroyStore: async (store) => void (await store.close(), await store.quit()),
  describe,
  it,
});

runSessionStoreContract({
  name: 'RedisStore (store-owned client from url)',
  createStore: async () => new RedisStore({ url: (await shared.get()).url, prefix: prefix() }),
  describe,
  it,
});

// INFO (stats' memory) is left out with the handshakes: clients send it on connecting too.
const STORE_COMMANDS = new Set([
  'evalsha',
  'eval',
  'hgetall',
  'zrange',
  'zrem',
  'zadd',
  'zcount',
  'pttl',
  'script',
]);

/**
 * Records the commands clients send to some nodes (MONITOR), leaving out the
 * ones run inside scripts, so a test can count round trips per operation.
 */
async function watchCommands(ports: number[]) {
  const seen: string[] = [];
  const clients: Redis[] = [];
  await Promise.all(
    ports.map(async (port) => {
      const base = new Redis(port, '127.0.0.1');
      // monitor() opens a connection of its own: both must be closed
      const monitor = await base.monitor();
      clients.push(base, monitor);
      monitor.on('monitor', (_time: string, args: string[], source: string) => {
        if (source !== 'lua') seen.push(String(args[0]).toLowerCase());
      });
    }),
  );
  const marker = new Redis(ports[0], '127.0.0.1');
  return {
    /** Runs `work` and answers the commands it sent, in order. */
    async during(work: () => Promise<unknown>): Promise<string[]> {
      await sleep(20);
      seen.length = 0;
      await work();
      // MONITOR output is asynchronous: wait for a marker sent after the work
      const id = `marker-${Math.random()}`;
      await marker.call('ECHO', id);
      await sleep(50);
      // connection handshakes and slot discovery (HELLO, INFO, CLUSTER) are not the store's
      return seen.filter((command) => STORE_COMMANDS.has(command));
    },
    async close() {
      marker.disconnect();
      for (const client of clients) client.disconnect();
    },
  };
}

/** Runs each operation once (loading the scripts) and answers the commands of a second run. */
async function commandsPerOperation(
  store: RedisStore,
  watch: Awaited<ReturnType<typeof watchCommands>>,
) {
  const u = user();
  const ops: Record<string, () => Promise<unknown>> = {};
  let k = key();
  let k2 = key();
  ops.set = () => store.set(k, record({ userId: u }), HOUR);
  ops.get = () => store.get(k);
  ops.update = () => store.update(k, { set: { a: '1' }, unset: ['views'], lastSeenAt: 5 }, HOUR);
  let moving = record({ userId: u });
  let k3 = key();
  ops.rotate = () => store.rotate(k, k2, moving, HOUR, { forwardMs: 0 });
  ops.move = () =>
    store.rotate(k2, k3, moving, HOUR, { expectHandle: moving.handle, forwardMs: 60_000 });
  ops.listForUser = () => store.listForUser(u);
  ops.revoke = () => store.revoke(k3, Date.now(), HOUR);
  ops.revokeAllForUser = () => store.revokeAllForUser(u, Date.now(), HOUR);
  ops.destroy = () => store.destroy(k3);
  // A family of its own user, so that revokeAllForUser leaves it: each run rotates it.
  const refreshFamily = key();
  let token = key();
  await store.set(refreshFamily, family(token), HOUR);
  ops.redeemRefreshToken = async () => {
    const successor = key();
    await store.redeemRefreshToken(refreshFamily, redemption(token, successor));
    token = successor;
  };
  // Everything live is due within two hours: the family is claimed (and read) each run.
  ops.claimExpired = () => store.claimExpired(Date.now() + 2 * HOUR, 10);
  ops.stats = () => store.stats();
  for (const op of Object.values(ops)) await op();
  k = key();
  k2 = key();
  k3 = key();
  moving = record({ userId: u });
  const counts: Record<string, string[]> = {};
  for (const [name, op] of Object.entries(ops)) counts[name] = await watch.during(op);
  return counts;
}

describe('RedisStore round trips', () => {
  it('each operation is one command on standalone (ioredis and node-redis)', async () => {
    const server = await own.get();
    const watch = await watchCommands([server.port]);
    const ioredis = new Redis(server.url, ioredisOptions);
    const nodeRedis = await nodeRedisClient(server);
    try {
      for (const client of [ioredis, nodeRedis]) {
        const counts = await commandsPerOperation(
          new RedisStore({ client, prefix: prefix() }),
          watch,
        );
        expect(counts).toEqual({
          set: ['evalsha'],
          get: ['hgetall'],
          update: ['evalsha'],
          rotate: ['evalsha'],
          move: ['evalsha'],
          listForUser: ['evalsha'],
          revoke: ['evalsha'],
          revokeAllForUser: ['evalsha'],
          destroy: ['evalsha'],
          redeemRefreshToken: ['evalsha'],
          claimExpired: ['evalsha'],
          stats: ['zcount'],
        });
      }
    } finally {
      await watch.close();
      await ioredis.quit();
      await nodeRedis.close();
    }
  });

  it('on Cluster, get is one command, update one round trip, and the cross-slot steps are few', async () => {
    const servers = await cluster.get();
    const watch = await watchCommands(servers.nodes.map((node) => node.port));
    const client = clusterClient(servers);
    try {
      const counts = await commandsPerOperation(
        new RedisStore({ client, prefix: prefix() }),
        watch,
      );
      // nodes are watched by separate connections: compare which commands, not their order
      for (const commands of Object.values(counts)) commands.sort();
      // The expiry index steps (EXPIRY_ADD, zadd, the second zrem) go alongside
      // the session command they follow: more commands, no more round trips,
      // but after a refresh-token rotation (only the script knows its new end).
      expect(counts).toEqual({
        // index first, then the session with its expiry index entry
        set: ['evalsha', 'evalsha', 'evalsha'],
        get: ['hgetall'],
        // UPDATE and the expiry index ZADD together
        update: ['evalsha', 'zadd'],
        // log-in: index the new key, delete the old session (and its expiry entry), write the
        // new one (and its expiry entry), unindex the old key
        rotate: ['evalsha', 'evalsha', 'evalsha', 'evalsha', 'zrem', 'zrem'],
        // rotation: index the new key, write it (and its expiry entry), move the old one (the
        // condition), unindex the old key from both indexes
        move: ['evalsha', 'evalsha', 'evalsha', 'evalsha', 'zrem', 'zrem'],
        // read the index, then every session in parallel
        listForUser: ['hgetall', 'zrange'],
        // tombstone, then unindex from both indexes
        revoke: ['evalsha', 'zrem', 'zrem'],
        // nothing live left to revoke: only the index read
        revokeAllForUser: ['zrange'],
        // the session and its expiry entry together
        destroy: ['evalsha', 'zrem'],
        // a rotation: the one script on the family's key (its index is far from its horizon),
        // then its new end in the expiry index
        redeemRefreshToken: ['evalsha', 'zadd'],
        // claim on the index, then each record read with its PTTL
        claimExpired: ['evalsha', 'hgetall', 'pttl'],
        stats: ['zcount'],
      });
    } finally {
      await watch.close();
      await client.quit();
    }
  });
});

describe('RedisStore on foreign or corrupt values', () => {
  it('reads anything it did not write as no session, without throwing', async () => {
    const server = await own.get();
    const raw = new Redis(server.url);
    const p = prefix();
    const store = new RedisStore({ client: raw, prefix: p });
    try {
      const cases: [string, (k: string) => Promise<unknown>][] = [
        ['string', (k) => raw.set(k, 'hello')],
        ['list', (k) => raw.rpush(k, 'a', 'b')],
        ['hash without handle', (k) => raw.hset(k, 'c', '1', 'l', '1', 'd:x', '1')],
        ['hash with a bad timestamp', (k) => raw.hset(k, 'h', 'x', 'c', 'soon', 'l', '1')],
        ['hash with a bad log-in time', (k) => raw.hset(k, 'h', 'x', 'c', '1', 'l', '1', 'a', 'x')],
        ['hash with an empty handle', (k) => raw.hset(k, 'h', '', 'c', '1', 'l', '1')],
        ['hash with bad roles', (k) => raw.hset(k, 'h', 'x', 'c', '1', 'l', '1', 'r', '{nope')],
        [
          'hash with roles not strings',
          (k) => raw.hset(k, 'h', 'x', 'c', '1', 'l', '1', 'r', '[1]'),
        ],
        ['hash with roles an object', (k) => raw.hset(k, 'h', 'x', 'c', '1', 'l', '1', 'r', '{}')],
        [
          'family with a bad generation',
          (k) => raw.hset(k, 'h', 'x', 'c', '1', 'l', '1', 'tc', 'tok', 'tn', 'one', 't:tok', '1'),
        ],
        [
          'family with a bad rotation time',
          (k) => raw.hset(k, 'h', 'x', 'c', '1', 'l', '1', 'tc', 'tok', 'tn', '1', 'tr', 'x'),
        ],
        [
          'family without a current token',
          (k) => raw.hset(k, 'h', 'x', 'c', '1', 'l', '1', 'tn', '1', 'tp', 'tok', 't:tok', '1'),
        ],
      ];
      for (const [name, write] of cases) {
        const k = key();
        await write(p + k);
        const seen = {
          get: await store.get(k),
          redeem: (await store.redeemRefreshToken(k, redemption('tok'))).status,
          update: await store.update(k, { set: { a: '1' } }, HOUR),
          revoke: await store.revoke(k, 1, HOUR),
        };
        expect({ name, ...seen }).toEqual({
          name,
          get: null,
          redeem: 'unknown',
          update: false,
          revoke: false,
        });
        await store.set(k, record(), HOUR);
        expect(await store.get(k)).not.toBeNull();
        await write(p + key()).then(() => store.destroy(key()));
      }
    } finally {
      await raw.quit();
    }
  });

  it('survives a foreign index key and foreign index members', async () => {
    const server = await own.get();
    const raw = new Redis(server.url);
    const p = prefix();
    const store = new RedisStore({ client: raw, prefix: p });
    try {
      const u = user();
      await raw.set(`${p}user:${u}`, 'not a sorted set');
      expect(await store.listForUser(u)).toEqual([]);
      const k = key();
      await store.set(k, record({ userId: u }), HOUR);
      const strange = key();
      await raw.zadd(`${p}user:${u}`, 1, strange);
      await raw.set(p + strange, 'junk');
      expect((await store.listForUser(u)).map((e) => e.key)).toEqual([k]);
      expect(await raw.zrange(`${p}user:${u}`, '0', '-1')).toEqual([k]);
    } finally {
      await raw.quit();
    }
  });
});

describe('RedisStore client ownership', () => {
  it('closes a client it created, and leaves an app client open', async () => {
    const server = await own.get();
    const raw = new Redis(server.url);
    const named = async (name: string) =>
      ((await raw.call('CLIENT', 'LIST')) as string).includes(`name=${name} `);
    try {
      const owned = new RedisStore({
        url: server.url,
        redisOptions: { connectionName: 'owned-store' },
      });
      await owned.get(key());
      expect(await named('owned-store')).toBe(true);
      await owned.close();
      await owned.close(); // idempotent: apps sharing a store each close it
      await sleep(50);
      expect(await named('owned-store')).toBe(false);

      const app = new Redis(server.url, { connectionName: 'app-client' });
      const borrowed = new RedisStore({ client: app });
      await borrowed.get(key());
      await borrowed.close();
      expect(app.status).toBe('ready');
      expect(await app.ping()).toBe('PONG');
      await app.quit();
    } finally {
      await raw.quit();
    }
  });

  it('rejects unusable options with a clear error', () => {
    expect(() => new RedisStore({})).toThrow(/exactly one of/);
    expect(() => new RedisStore({ client: {} as never })).toThrow(
      /neither an ioredis nor a node-redis/,
    );
    const prefixed = new Redis({ keyPrefix: 'app:', lazyConnect: true });
    expect(() => new RedisStore({ client: prefixed })).toThrow(/keyPrefix/);
    prefixed.disconnect();
    expect(() => new RedisStore({ url: 'redis://127.0.0.1:1', maxSessionsPerUser: 0 })).toThrow(
      /maxSessionsPerUser must be a positive integer/,
    );
  });
});

describe.each([
  ['standalone', async () => new Redis((await own.get()).url, ioredisOptions)],
  ['Cluster', async () => clusterClient(await cluster.get())],
] as const)('RedisStore maxSessionsPerUser (%s)', (_name, makeClient) => {
  it('revokes the sessions of a user logged in longest ago', async () => {
    const client = await makeClient();
    const store = new RedisStore({ client, prefix: prefix(), maxSessionsPerUser: 2 });
    try {
      const u = user();
      const [a, b, c] = [key(), key(), key()];
      await store.set(a, record({ userId: u }), HOUR);
      await sleep(5);
      await store.set(b, record({ userId: u }), HOUR);
      await sleep(5);
      await store.set(key(), record({ userId: user() }), HOUR); // another user does not count
      await store.set(key(), record(), HOUR); // nor does an anonymous session
      await store.set(c, record({ userId: u }), HOUR);
      expect((await store.listForUser(u)).map((e) => e.key).sort()).toEqual([b, c].sort());
      expect((await store.get(a))!.revokedAt).toEqual(expect.any(Number));

      // rotating an anonymous session into the user counts as a new one
      const anon = key();
      const d = key();
      await store.set(anon, record(), HOUR);
      await sleep(5);
      await store.rotate(anon, d, record({ userId: u }), HOUR, { forwardMs: 0 });
      expect((await store.listForUser(u)).map((e) => e.key).sort()).toEqual([c, d].sort());
      expect((await store.get(b))!.revokedAt).toEqual(expect.any(Number));
      // re-writing one of the sessions kept does not revoke anything
      await store.set(c, record({ userId: u }), HOUR);
      expect((await store.listForUser(u)).map((e) => e.key).sort()).toEqual([c, d].sort());
    } finally {
      await client.quit();
    }
  });
});

describe.each([
  ['standalone', async () => new Redis((await own.get()).url, ioredisOptions)],
  ['Cluster', async () => clusterClient(await cluster.get())],
] as const)('RedisStore per-user index lifetime (%s)', (_name, makeClient) => {
  it('a sliding session never outlives its index entry', async () => {
    const client = await makeClient();
    const p = prefix();
    const store = new RedisStore({ client, prefix: p });
    try {
      const u = user();
      const k = key();
      await store.set(k, record({ userId: u }), 10_000);
      const index = `${p}user:${u}`;
      const horizon = Number(await client.hget(p + k, 'i'));
      expect(horizon).toBeGreaterThan(Date.now() + 10_000);
      expect(await client.pttl(index)).toBeGreaterThan(10_000);

      // as if the session had slid for a day: its index would expire before it
      await client.hset(p + k, 'i', String(Date.now() + 2_000));
      await client.pexpire(index, 2_000);
      expect(await store.update(k, { lastSeenAt: Date.now() }, HOUR)).toBe(true);
      expect(await client.pttl(p + k)).toBeGreaterThan(HOUR - 5_000);
      expect(Number(await client.hget(p + k, 'i'))).toBeGreaterThan(Date.now() + HOUR);
      expect(await client.pttl(index)).toBeGreaterThan(HOUR);
      expect((await store.listForUser(u)).map((e) => e.key)).toEqual([k]);
    } finally {
      await client.quit();
    }
  });

  it('a rotated refresh-token family never outlives its index entry', async () => {
    const client = await makeClient();
    const p = prefix();
    const store = new RedisStore({ client, prefix: p });
    try {
      const k = key();
      const token = key();
      const r = family(token);
      await store.set(k, r, 10_000);
      const index = `${p}user:${r.userId}`;
      // as if the family had been redeemed for a day: its index would expire before it
      await client.hset(p + k, 'i', String(Date.now() + 2_000));
      await client.pexpire(index, 2_000);
      const outcome = await store.redeemRefreshToken(k, redemption(token));
      expect(outcome.status).toBe('rotated');
      expect(await client.pttl(p + k)).toBeGreaterThan(HOUR - 5_000);
      expect(Number(await client.hget(p + k, 'i'))).toBeGreaterThan(Date.now() + HOUR);
      expect(await client.pttl(index)).toBeGreaterThan(HOUR);
      expect((await store.listForUser(r.userId!)).map((e) => e.key)).toEqual([k]);
    } finally {
      await client.quit();
    }
  });

  it('a family revoked for reuse is out of its user index when the call returns', async () => {
    const client = await makeClient();
    const p = prefix();
    const store = new RedisStore({ client, prefix: p });
    try {
      const k = key();
      const token = key();
      const r = family(token);
      await store.set(k, r, HOUR);
      const index = `${p}user:${r.userId}`;
      expect(await client.zrange(index, '0', '-1')).toEqual([k]);
      await store.redeemRefreshToken(k, redemption(token));
      expect((await store.redeemRefreshToken(k, redemption(token))).status).toBe('reused');
      // read raw: a listing would prune a dangling entry and hide it
      expect(await client.zrange(index, '0', '-1')).toEqual([]);
      expect(await client.hexists(p + k, 'tc')).toBe(0);
    } finally {
      await client.quit();
    }
  });
});

describe.each([
  ['standalone', async () => new Redis((await own.get()).url, ioredisOptions)],
  ['Cluster', async () => clusterClient(await cluster.get())],
] as const)('RedisStore incrementCounter (%s)', (_name, makeClient) => {
  it('counts within a window shared by every store on the same Redis, then starts over', async () => {
    const client = await makeClient();
    const p = prefix();
    const [one, two] = [
      new RedisStore({ client, prefix: p }),
      new RedisStore({ client, prefix: p }),
    ];
    try {
      const k = `ip:${randomBytes(4).toString('hex')}`;
      expect(await one.incrementCounter(k, 300)).toBe(1);
      expect(await two.incrementCounter(k, 300)).toBe(2);
      expect(await one.incrementCounter(k, 300)).toBe(3);
      await sleep(400);
      expect(await two.incrementCounter(k, 300)).toBe(1);
      await client.set(`${p}count:foreign`, 'not a number');
      expect(await one.incrementCounter('foreign', 300)).toBe(1);
    } finally {
      await client.quit();
    }
  });
});

describe.each([
  ['standalone', async () => new Redis((await own.get()).url, ioredisOptions)],
  ['Cluster', async () => clusterClient(await cluster.get())],
] as const)('RedisStore refresh-token history (%s)', (_name, makeClient) => {
  it(`a family's hash stays bounded (REFRESH_TOKEN_HISTORY = ${REFRESH_TOKEN_HISTORY}) over many rotations, and a read carries none of it`, async () => {
    const client = await makeClient();
    const p = prefix();
    const store = new RedisStore({ client, prefix: p });
    try {
      const k = key();
      let token = key();
      await store.set(k, family(token), HOUR);
      const lengths: number[] = [];
      for (let i = 0; i < 3 * REFRESH_TOKEN_HISTORY; i++) {
        const next = redemption(token);
        const outcome = await store.redeemRefreshToken(k, next);
        expect(outcome.status).toBe('rotated');
        // the answer is the record alone: no history fields decoded into it
        expect(Object.keys((outcome as { record: SessionRecord }).record.data)).toEqual([]);
        token = next.successor;
        if (i % REFRESH_TOKEN_HISTORY === REFRESH_TOKEN_HISTORY - 1)
          lengths.push(await client.hlen(p + k));
      }
      // two fields per remembered token plus the record's own dozen: the same after each round
      expect(lengths[0]).toBeLessThanOrEqual(2 * REFRESH_TOKEN_HISTORY + 16);
      expect(new Set(lengths).size).toBe(1);
    } finally {
      await client.quit();
    }
  });
});

describe.each([
  ['standalone', async () => new Redis((await own.get()).url, ioredisOptions)],
  ['Cluster', async () => clusterClient(await cluster.get())],
] as const)('RedisStore expiry index (%s)', (_name, makeClient) => {
  /** The raw index: member -> score. */
  const indexOf = async (client: Redis | Cluster, p: string) => {
    const flat = await client.zrange(`${p}expiry`, '0', '-1', 'WITHSCORES');
    const scores = new Map<string, number>();
    for (let i = 0; i < flat.length; i += 2) scores.set(flat[i], Number(flat[i + 1]));
    return scores;
  };

  it('scores each live record at the end of its TTL; destroy, revoke, rotation, reuse, revokeAllForUser and the cap take it out', async () => {
    const client = await makeClient();
    const p = prefix();
    const store = new RedisStore({ client, prefix: p, maxSessionsPerUser: 2 });
    try {
      const u = user();
      const [a, b, c, d] = [key(), key(), key(), key()];
      const started = Date.now();
      await store.set(a, record({ userId: u }), HOUR);
      await store.set(b, record(), 10_000);
      let index = await indexOf(client, p);
      expect(index.get(a)).toBeGreaterThanOrEqual(started + HOUR);
      expect(index.get(a)).toBeLessThanOrEqual(Date.now() + HOUR);
      expect(index.get(b)).toBeLessThanOrEqual(Date.now() + 10_000);

      // update moves the score to the new end
      const updated = Date.now();
      expect(await store.update(b, { lastSeenAt: updated }, 2 * HOUR)).toBe(true);
      expect((await indexOf(client, p)).get(b)).toBeGreaterThanOrEqual(updated + 2 * HOUR);

      // a rotation: the forward under the old key leaves the index, the new key enters it
      const moved = record({ userId: u });
      await store.set(c, moved, HOUR);
      await store.rotate(c, d, moved, HOUR, { expectHandle: moved.handle, forwardMs: 60_000 });
      index = await indexOf(client, p);
      expect([index.has(c), index.has(d)]).toEqual([false, true]);

      await store.destroy(b);
      await store.revoke(d, Date.now(), HOUR);
      index = await indexOf(client, p);
      expect([index.has(b), index.has(d)]).toEqual([false, false]);

      // the cap (2): a third log-in revokes the oldest, which leaves the index
      const [e, f] = [key(), key()];
      await store.set(e, record({ userId: u }), HOUR);
      await sleep(5);
      await store.set(f, record({ userId: u }), HOUR);
      expect((await store.get(a))!.revokedAt).toEqual(expect.any(Number));
      index = await indexOf(client, p);
      expect([index.has(a), index.has(e), index.has(f)]).toEqual([false, true, true]);

      expect(await store.revokeAllForUser(u, Date.now(), HOUR)).toBe(2);
      expect([...(await indexOf(client, p)).keys()]).toEqual([]);

      // a family: a rotation with retainMs scores its new end, reuse takes it out
      const k = key();
      const token = key();
      await store.set(k, family(token), HOUR);
      const redeemed = { ...redemption(token), idleMs: 10_000, retainMs: 5_000 };
      expect((await store.redeemRefreshToken(k, redeemed)).status).toBe('rotated');
      expect((await indexOf(client, p)).get(k)).toBe(redeemed.now + 15_000);
      expect(await client.pttl(p + k)).toBeGreaterThan(14_000);
      expect((await store.redeemRefreshToken(k, redemption(token))).status).toBe('reused');
      expect([...(await indexOf(client, p)).keys()]).toEqual([]);
    } finally {
      await client.quit();
    }
  });

  it('a claim re-checks each record: dead members are dropped, a live one whose TTL outlived its score goes back at its real end', async () => {
    const client = await makeClient();
    const p = prefix();
    const store = new RedisStore({ client, prefix: p });
    try {
      const [live, gone] = [key(), key()];
      await store.set(live, record(), HOUR);
      // as if the index had missed a write (a lost Cluster step, an older app version)
      await client.zadd(`${p}expiry`, String(Date.now() - 1_000), live);
      await client.zadd(`${p}expiry`, String(Date.now() - 1_000), gone);
      expect(await store.claimExpired(Date.now() + 60_000, 100)).toEqual([]);
      const index = await indexOf(client, p);
      expect(index.has(gone)).toBe(false);
      expect(index.get(live)).toBeGreaterThan(Date.now() + HOUR - 5_000);
      expect((await store.claimExpired(Date.now() + 2 * HOUR, 100)).map((e) => e.key)).toEqual([
        live,
      ]);
    } finally {
      await client.quit();
    }
  });

  it('claims a batch larger than one script call (INDEX_BATCH) across calls, each record once', async () => {
    const client = await makeClient();
    const p = prefix();
    const store = new RedisStore({ client, prefix: p });
    try {
      const keys = Array.from({ length: 450 }, () => key());
      await Promise.all(keys.map((k) => store.set(k, record(), 10_000)));
      const first = await store.claimExpired(Date.now() + 60_000, 300);
      expect(first).toHaveLength(300);
      const rest = await store.claimExpired(Date.now() + 60_000, 1_000);
      expect([...first, ...rest].map((e) => e.key).sort()).toEqual([...keys].sort());
      expect(await store.claimExpired(Date.now() + 60_000, 1_000)).toEqual([]);
    } finally {
      await client.quit();
    }
  });

  it('stats: the index count from now on, and used_memory summed over the masters', async () => {
    const client = await makeClient();
    const p = prefix();
    const store = new RedisStore({ client, prefix: p });
    try {
      await Promise.all([key(), key(), key()].map((k) => store.set(k, record(), HOUR)));
      // an entry whose TTL has ended (not claimed yet) no longer counts
      await client.zadd(`${p}expiry`, String(Date.now() - 1), key());
      const stats = await store.stats();
      expect(stats.activeSessions).toBe(3);
      const masters = client instanceof Cluster ? client.nodes('master') : [client];
      expect(masters.length).toBe(client instanceof Cluster ? 3 : 1);
      const used = await Promise.all(
        masters.map(async (node) =>
          Number(/used_memory:(\d+)/.exec(await node.info('memory'))![1]),
        ),
      );
      const total = used.reduce((sum, bytes) => sum + bytes, 0);
      // used_memory moves a little between the two reads
      expect(stats.memoryBytes).toBeGreaterThan(total * 0.8);
      expect(stats.memoryBytes).toBeLessThan(total * 1.2);
    } finally {
      await client.quit();
    }
  });

  it('a foreign value under the index key fails no write; claims and stats see nothing until a new session replaces it', async () => {
    const client = await makeClient();
    const p = prefix();
    const store = new RedisStore({ client, prefix: p });
    try {
      await client.set(`${p}expiry`, 'not a sorted set');
      const k = key();
      await store.set(k, record(), 200); // PUT (Cluster: EXPIRY_ADD) replaces it
      expect(await client.type(`${p}expiry`)).toBe('zset');
      await client.set(`${p}expiry`, 'not a sorted set');
      expect(await store.update(k, { set: { a: '1' } }, 200)).toBe(true);
      await store.destroy(key());
      expect(await store.claimExpired(Date.now() + 60_000, 10)).toEqual([]);
      expect((await store.stats()).activeSessions).toBe(0);
      const next = key();
      await store.set(next, record(), 200);
      expect((await store.claimExpired(Date.now() + 60_000, 10)).map((e) => e.key)).toEqual([next]);
    } finally {
      await client.quit();
    }
  });

  it('a new session trims a few entries stale for over an hour (nobody claims), never newer ones', async () => {
    const client = await makeClient();
    const p = prefix();
    const store = new RedisStore({ client, prefix: p });
    try {
      const stale = Array.from({ length: 6 }, () => key());
      const recent = key();
      for (const member of stale) {
        await client.zadd(`${p}expiry`, String(Date.now() - 2 * HOUR), member);
      }
      await client.zadd(`${p}expiry`, String(Date.now() - 60_000), recent);
      await store.set(key(), record(), HOUR);
      expect((await indexOf(client, p)).size).toBe(1 + 2 + 1); // 4 of the 6 trimmed per write
      await store.set(key(), record(), HOUR);
      const index = await indexOf(client, p);
      expect(stale.filter((member) => index.has(member))).toEqual([]);
      expect(index.has(recent)).toBe(true);
    } finally {
      await client.quit();
    }
  });
});

/** A client for the stats test, and how to close it (ioredis quits, node-redis closes). */
const closable = <T extends { quit(): Promise<unknown> } | { close(): Promise<unknown> }>(
  client: T,
) => ({
  client,
  close: () => ('quit' in client ? client.quit() : client.close()),
});

describe.each([
  ['ioredis', async () => closable(new Redis((await own.get()).url, ioredisOptions))],
  ['node-redis RESP2', async () => closable(await nodeRedisClient(await own.get()))],
  [
    'node-redis RESP3',
    async () => {
      const client = createClient({ url: (await own.get()).url, RESP: 3 });
      client.on('error', () => {});
      await client.connect();
      return closable(client);
    },
  ],
  [
    'node-redis Cluster',
    async () => {
      const servers = await cluster.get();
      const client = createCluster({
        rootNodes: servers.nodes.map((node) => ({ url: `redis://${node.host}:${node.port}` })),
      });
      client.on('error', () => {});
      await client.connect();
      return closable(client);
    },
  ],
] as const)('RedisStore stats on %s', (_name, makeClient) => {
  it('answers the active count and the server memory', async () => {
    const { client, close } = await makeClient();
    const store = new RedisStore({ client, prefix: prefix() });
    try {
      await store.set(key(), record({ userId: user() }), HOUR);
      const stats = await store.stats();
      expect(stats.activeSessions).toBe(1);
      expect(stats.memoryBytes).toEqual(expect.any(Number));
      expect(stats.memoryBytes).toBeGreaterThan(100_000);
    } finally {
      await close();
    }
  });
});

describe('RedisStore when Redis goes down', () => {
  it('rejects within 2 s while Redis is down and recovers by itself on restart', async () => {
    const server = await startRedis(); // its own server: this test kills it
    const store = new RedisStore({ url: server.url, prefix: prefix() });
    try {
      const k = key();
      await store.set(k, record({ userId: user() }), HOUR);
      await server.kill();

      const timed = async (call: () => Promise<unknown>) => {
        const started = Date.now();
        const error = await call().then(
          () => undefined,
          (e: unknown) => e,
        );
        return { error, ms: Date.now() - started };
      };
      for (const call of [
        () => store.get(k),
        () => store.update(k, { set: { a: '1' } }, HOUR),
        () => store.set(key(), record(), HOUR),
        () => store.listForUser('someone'),
      ]) {
        const { error, ms } = await timed(call);
        expect(error).toBeInstanceOf(Error);
        expect((error as Error).message).not.toContain(k);
        expect(ms).toBeLessThan(2000);
      }

      await server.restart();
      const recovered = Date.now();
      let answer: unknown = 'not yet';
      while (answer === 'not yet' && Date.now() - recovered < 5000) {
        answer = await store.get(k).catch(() => 'not yet');
        if (answer === 'not yet') await sleep(100);
      }
      expect(answer).toBeNull(); // the restarted server is empty
      const k2 = key();
      await store.set(k2, record(), HOUR);
      expect(await store.get(k2)).not.toBeNull();
    } finally {
      await store.close();
      await server.stop();
    }
  });

  it('bounds calls by operationTimeoutMs even on app clients that queue forever', async () => {
    const server = await startRedis();
    // client defaults: ioredis and node-redis both queue commands while disconnected
    const ioredis = new Redis(server.url);
    ioredis.on('error', () => {});
    const nodeRedis = await nodeRedisClient(server);
    try {
      const stores = [ioredis, nodeRedis].map(
        (client) => new RedisStore({ client, prefix: prefix(), operationTimeoutMs: 1000 }),
      );
      for (const store of stores) await store.get(key());
      await server.kill();
      for (const store of stores) {
        const started = Date.now();
        await expect(store.get(key())).rejects.toThrow(/RedisStore\.get failed/);
        expect(Date.now() - started).toBeLessThan(2000);
      }
      await server.restart();
      for (const store of stores) {
        const deadline = Date.now() + 5000;
        let ok = false;
        while (!ok && Date.now() < deadline) {
          ok = await store.get(key()).then(
            () => true,
            () => false,
          );
          if (!ok) await sleep(100);
        }
        expect(ok).toBe(true);
      }
    } finally {
      ioredis.disconnect();
      await nodeRedis.close().catch(() => undefined);
      await server.stop();
    }
  });
});
