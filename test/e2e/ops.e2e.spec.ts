import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import { register as defaultRegistry, Registry } from 'prom-client';
import request from 'supertest';
import { RedisStore } from '../../lib/stores/redis.store.js';
import { cookiePair, setCookies } from '../support/cookies.js';
import type { CountingStore } from '../support/counting.store.js';
import { startRedis, type RedisServer } from '../support/redis-servers.js';
import {
  logIn,
  newTestStore,
  PLATFORMS,
  sleep,
  startSampleApp,
  type RunningApp,
  type SampleAppHarness,
} from '../support/sample-app.harness.js';

/**
 * Issue 11 items 3 and 4 for the sample app: `GET /metrics` (the app's own
 * prom-client registry) and `GET /health/ready` (terminus with
 * SessionStoreHealthIndicator), next to the liveness `GET /health`.
 *
 * In redis-pair mode each instance counts the events it emitted in its own
 * registry, and the proxy alternates between them, so metrics are read from
 * every instance directly and counters are summed: the sum is what the
 * pair did, whichever instance served each request.
 */

/** Each instance's own base URL (one in memory mode, both in redis-pair mode), not the proxy's. */
function instanceUrls(running: Pick<RunningApp, 'instances'>): string[] {
  return running.instances.map((app) => {
    const { port } = app.getHttpServer().address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  });
}

/** The sample lines of a Prometheus text (`name{labels}` to value), comments left out. */
function samplesOf(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

async function scrape(url: string): Promise<Map<string, number>> {
  const res = await request(url).get('/metrics');
  expect(res.status).toBe(200);
  return samplesOf(res.text);
}

/** Every counter and histogram sample summed over the instances (gauges are read per instance). */
async function scrapeAll(running: Pick<RunningApp, 'instances'>): Promise<Map<string, number>> {
  const total = new Map<string, number>();
  for (const url of instanceUrls(running)) {
    for (const [name, value] of await scrape(url)) total.set(name, (total.get(name) ?? 0) + value);
  }
  return total;
}

/** How much each sample moved between two scrapes (absent: 0). */
function movedBetween(before: Map<string, number>, after: Map<string, number>) {
  return (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
}

const EVENTS = 'session_events_total';
const LIFETIME_COUNT = 'session_lifetime_seconds_count';
const STORE_OPS_COUNT = 'session_store_operation_duration_seconds_count';

/** Short enough for an idle expiry within the test, long enough for a few requests in a row. */
const IDLE_MS = 1_500;
const SWEEP_MS = 100;

describe.each(PLATFORMS)('GET /metrics (%s)', (platform) => {
  // The harness's default CountingStore counts calls but does not forward the
  // store's `claimExpired` and `stats`; without them the module runs no expiry
  // sweeper and the gauges have no source. The real store inside it (a
  // MemoryStore, or in redis-pair mode a RedisStore on this file's
  // redis-server) has both, so the sample runs on that one.
  let testStore: CountingStore;
  let h: SampleAppHarness;

  beforeAll(async () => {
    testStore = await newTestStore();
    h = await startSampleApp(platform, {
      store: testStore.inner,
      env: {
        SESSION_IDLE_TIMEOUT_MS: String(IDLE_MS),
        SESSION_EXPIRY_SWEEP_MS: String(SWEEP_MS),
      },
    });
  });
  afterAll(async () => {
    await h?.close();
    await testStore?.close();
  });

  it("answers each instance's own registry in the Prometheus text format, with the five session metrics", async () => {
    const registries = h.instances.map((app) => app.get(Registry));
    expect(new Set(registries).size).toBe(h.instances.length);
    for (const [i, url] of instanceUrls(h).entries()) {
      const res = await request(url).get('/metrics');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe(registries[i].contentType);
      expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(setCookies(res)).toEqual([]);
      for (const [name, type] of [
        ['session_events_total', 'counter'],
        ['session_store_operation_duration_seconds', 'histogram'],
        ['session_active_sessions', 'gauge'],
        ['session_store_memory_bytes', 'gauge'],
        ['session_lifetime_seconds', 'histogram'],
      ]) {
        expect(res.text).toContain(`# TYPE ${name} ${type}\n`);
      }
    }
    // Never prom-client's global registry: an app made again in the same process would collide there.
    expect(defaultRegistry.getSingleMetric(EVENTS)).toBeUndefined();
  });

  it('counts a log-in, a rotation (POST /auth/promote), a log-out and an idle expiry no request came back for', async () => {
    const start = await scrapeAll(h);

    const alice = await logIn(h.http, 'alice');
    const afterLogIn = await scrapeAll(h);
    const byLogIn = movedBetween(start, afterLogIn);
    expect(byLogIn(`${EVENTS}{type="created",reason="login"}`)).toBe(1);
    expect(byLogIn(`${EVENTS}{type="rotated",reason="login"}`)).toBe(0);
    expect(byLogIn(`${STORE_OPS_COUNT}{operation="set"}`)).toBeGreaterThanOrEqual(1);

    const promote = await request(h.http).post('/auth/promote').set('Cookie', alice);
    expect(promote.status).toBe(200);
    const promoted = cookiePair(promote);
    const afterPromote = await scrapeAll(h);
    const byPromote = movedBetween(afterLogIn, afterPromote);
    expect(byPromote(`${EVENTS}{type="rotated",reason="privilege"}`)).toBe(1);

    const logout = await request(h.http).post('/auth/logout').set('Cookie', promoted);
    expect(logout.status).toBe(200);
    const afterLogOut = await scrapeAll(h);
    const byLogOut = movedBetween(afterPromote, afterLogOut);
    expect(byLogOut(`${EVENTS}{type="destroyed",reason="logout"}`)).toBe(1);
    expect(byLogOut(`${LIFETIME_COUNT}{reason="logout"}`)).toBe(1);

    // A session nobody comes back for: the sweeper (SESSION_EXPIRY_SWEEP_MS) must report its end.
    const idle = await logIn(h.http, 'admin');
    const loggedIn = Date.now();
    for (const url of instanceUrls(h)) {
      // Gauges are the shared store's size, seen alike by every instance: not summed.
      const gauges = await scrape(url);
      expect(gauges.get('session_active_sessions')).toBeGreaterThanOrEqual(1);
      expect(gauges.get('session_store_memory_bytes')).toBeGreaterThan(0);
    }
    let expired = 0;
    let now = afterLogOut;
    while (expired === 0 && Date.now() - loggedIn < IDLE_MS + 5_000) {
      await sleep(SWEEP_MS);
      now = await scrapeAll(h); // scrapes carry no cookie: the session itself sees no request
      expired = movedBetween(afterLogOut, now)(`${EVENTS}{type="expired",reason="idle"}`);
    }
    expect(expired).toBe(1);
    expect(Date.now() - loggedIn).toBeGreaterThanOrEqual(IDLE_MS);
    const byExpiry = movedBetween(afterLogOut, now);
    expect(byExpiry(`${LIFETIME_COUNT}{reason="idle"}`)).toBe(1);
    expect(byExpiry(`${STORE_OPS_COUNT}{operation="claimExpired"}`)).toBeGreaterThan(0);

    // Over the whole test: exactly these events, once each (two log-ins).
    const total = movedBetween(start, now);
    expect(total(`${EVENTS}{type="created",reason="login"}`)).toBe(2);
    expect(total(`${EVENTS}{type="rotated",reason="privilege"}`)).toBe(1);
    expect(total(`${EVENTS}{type="destroyed",reason="logout"}`)).toBe(1);
    expect(total(`${EVENTS}{type="expired",reason="idle"}`)).toBe(1);

    // A request that meets the ended session later is told why, and it is not counted again.
    const me = await request(h.http).get('/me').set('Cookie', idle);
    expect(me.status).toBe(401);
    expect(me.body.reason).toBe('idle_timeout');
    const later = movedBetween(now, await scrapeAll(h));
    expect(later(`${EVENTS}{type="expired",reason="idle"}`)).toBe(0);
  });
});

describe.each(PLATFORMS)('GET /health/ready and GET /health (%s)', (platform) => {
  it('answers 200 with the session store up on a store that answers; GET /health is plain liveness', async () => {
    const h = await startSampleApp(platform);
    try {
      for (const url of [h.http, ...instanceUrls(h)]) {
        const ready = await request(url).get('/health/ready');
        expect(ready.status).toBe(200);
        expect(ready.body).toMatchObject({
          status: 'ok',
          info: { session_store: { status: 'up', responseTimeMs: expect.any(Number) } },
        });
        expect(setCookies(ready)).toEqual([]);
        const live = await request(url).get('/health');
        expect(live.status).toBe(200);
        expect(live.body).toEqual({ status: 'ok' });
      }
    } finally {
      await h.close();
    }
  });

  describe('on a RedisStore whose redis-server is killed and restarted', () => {
    // A server of this test's own (not the file's shared one): killing it disturbs no other test.
    let redis: RedisServer;
    let store: RedisStore;
    let h: SampleAppHarness<RedisStore>;

    beforeAll(async () => {
      redis = await startRedis();
      store = new RedisStore({ url: redis.url, prefix: 'ops:', operationTimeoutMs: 300 });
      h = await startSampleApp(platform, { store });
    });
    afterAll(async () => {
      await h?.close();
      await store?.close();
      await redis?.stop();
    });

    const readyOnEveryInstance = async () => {
      const answers = [];
      for (const url of instanceUrls(h)) {
        const res = await request(url).get('/health/ready').timeout(8_000);
        answers.push({ status: res.status, body: res.body });
      }
      return answers;
    };

    it('answers 503 with the store down while Redis is gone, 200 again once it is back; /health stays 200', async () => {
      for (const answer of await readyOnEveryInstance()) expect(answer.status).toBe(200);

      await redis.kill();
      try {
        for (const answer of await readyOnEveryInstance()) {
          expect(answer.status).toBe(503);
          expect(answer.body).toMatchObject({
            status: 'error',
            error: {
              session_store: { status: 'down', message: expect.stringMatching(/unavailable/) },
            },
          });
        }
        // Through the proxy too, and liveness does not depend on the store.
        expect((await request(h.http).get('/health/ready')).status).toBe(503);
        for (const url of [h.http, ...instanceUrls(h)]) {
          expect((await request(url).get('/health')).status).toBe(200);
        }
      } finally {
        await redis.restart();
      }

      let answers = await readyOnEveryInstance();
      for (let i = 0; i < 50 && answers.some((a) => a.status !== 200); i++) {
        await sleep(100);
        answers = await readyOnEveryInstance();
      }
      for (const answer of answers) {
        expect(answer.status).toBe(200);
        expect(answer.body.info.session_store.status).toBe('up');
      }
    });
  });
});
