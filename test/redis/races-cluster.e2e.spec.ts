import { afterAll, beforeAll, describe } from '@jest/globals';
import { Cluster } from 'ioredis';
import { RedisStore } from '../../lib/stores/redis.store.js';
import { describeRaceScenarios, DELAY_SCHEDULE, RaceTestStore } from '../support/race-scenarios.js';
import { startRedisCluster, type RedisClusterServers } from '../support/redis-servers.js';
import { PLATFORMS } from '../support/sample-app.harness.js';

/**
 * Issue "Logout must stick" on a real 3-master Redis Cluster: the race
 * scenarios of test/support/race-scenarios.ts (the same ones
 * test/e2e/races.e2e.spec.ts runs on memory and standalone Redis) against a
 * sample app whose store is a RedisStore on an ioredis Cluster client. On
 * Cluster a session and its user's index live on different slots, so set,
 * rotate, destroy and revoke take several ordered steps: more room for races.
 * The RedisStore is wrapped (RaceTestStore, a CountingStore) only to make each
 * store call yield a few ms (delays vary per trial); every call, "log out
 * everywhere" included, is served by the RedisStore on the cluster.
 */
let cluster: RedisClusterServers | undefined;
let prefixes = 0;

beforeAll(async () => {
  cluster = await startRedisCluster(3);
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

describe.each(PLATFORMS)('logout must stick: races on Redis Cluster (%s)', (platform) => {
  const { readMs: readDelayMs, writeMs: writeDelayMs } = DELAY_SCHEDULE[0];
  describeRaceScenarios({
    platform,
    newStore: async ({ maxSessionsPerUser }) => {
      if (!cluster) throw new Error('the Redis Cluster did not start');
      const client = new Cluster(cluster.nodes, {
        clusterRetryStrategy: (n) => Math.min(n * 100, 1000),
        redisOptions: { commandTimeout: 1000, maxRetriesPerRequest: 1 },
      });
      const inner = new RedisStore({ client, prefix: `races${++prefixes}:`, maxSessionsPerUser });
      const store = new RaceTestStore({ inner, readDelayMs, writeDelayMs });
      return {
        store,
        close: async () => {
          await store.close();
          await client.quit().catch(() => undefined);
        },
      };
    },
  });
});
