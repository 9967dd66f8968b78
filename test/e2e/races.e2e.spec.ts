import { describe } from '@jest/globals';
import { describeRaceScenarios, DELAY_SCHEDULE, RaceTestStore } from '../support/race-scenarios.js';
import {
  E2E_STORE,
  newCappedTestStore,
  newTestStore,
  PLATFORMS,
} from '../support/sample-app.harness.js';

/**
 * Issue "Logout must stick": logout, "log out everywhere" and revocation by
 * handle must end a session even while an ID change (privilege rotation,
 * periodic renewal) of it is in flight, and parallel ID changes must not fork
 * one session into several. The scenarios are in test/support/race-scenarios.ts
 * (shared with the Redis Cluster run, test/redis/races-cluster.e2e.spec.ts).
 *
 * Both jest projects run this file: on the in-memory store, and on two sample
 * instances sharing one standalone Redis behind a round-robin proxy
 * (E2E_STORE=redis-pair). Either way the store is the harness's (a MemoryStore,
 * or a RedisStore on this file's redis-server) behind a counting wrapper that
 * makes every store call yield a few ms (the delays vary per trial, see
 * DELAY_SCHEDULE), which opens the window an app's awaiting handlers open in
 * production.
 */
describe.each(PLATFORMS)(`logout must stick: races (%s, ${E2E_STORE} store)`, (platform) => {
  const { readMs: readDelayMs, writeMs: writeDelayMs } = DELAY_SCHEDULE[0];
  describeRaceScenarios({
    platform,
    newStore: async ({ maxSessionsPerUser }) => {
      // The harness's store for this mode; only its inner store is used (closed below).
      const { inner } =
        maxSessionsPerUser === undefined
          ? await newTestStore()
          : await newCappedTestStore(maxSessionsPerUser);
      const store = new RaceTestStore({ inner, readDelayMs, writeDelayMs });
      return { store, close: () => store.close() };
    },
  });
});
