import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { RedisStore } from '../../lib/stores/redis.store.js';
import { idOf } from '../support/cookies.js';
import { startRedis, type RedisServer } from '../support/redis-servers.js';
import { startRoundRobinProxy, type RoundRobinProxy } from '../support/round-robin.proxy.js';
import {
  logIn,
  PLATFORMS,
  sleep,
  startSampleApp,
  type SampleAppHarness,
} from '../support/sample-app.harness.js';

/**
 * Issue 3, "Done when": Redis goes away for 5 s under load, behind two
 * sample-app instances (each with its own RedisStore connection, as two
 * processes would have) and a round-robin proxy. Two ways to lose it:
 *
 * - `kill`: SIGKILL, then a restart on the same port 5 s later. The server
 *   runs with an fsync'd append-only file (`persistent`), as a production
 *   Redis would, so "every committed session readable after recovery" is a
 *   claim about the app, not about a Redis that forgot everything. Clients
 *   see refused connections: the fast-failure path.
 * - `freeze`: SIGSTOP for 5 s, then SIGCONT. Connections stay open and
 *   nothing answers (a hung server or a network that drops packets): every
 *   store call must be cut short by the app's own deadlines.
 *
 * Rule 9: zero 5xx but 503, each with Retry-After, each session route
 * answering within 2 s, /health and cookie-less requests unaffected, no
 * crash, recovery without restart, one log line per outage and instance,
 * never a session ID in the logs.
 */

const OUTAGE_MS = 5_000;
const BEFORE_OUTAGE_MS = 1_500;
const AFTER_OUTAGE_MS = 2_500;
const WORKERS = 6;
const USERS = 6;
/** Rule 9 / issue 3 item 4: a route that needs the session answers within this. */
const MAX_SESSION_ROUTE_MS = 2_000;

type Route = 'me' | 'put' | 'health' | 'home' | 'me-anon';
interface Sample {
  route: Route;
  status: number;
  ms: number;
  at: number;
  retryAfter: string | null;
}

/** One HTTP call with a hard bound: a hang shows up as status 0, not as a stuck test. */
async function call(
  url: string,
  init: { method?: string; cookie?: string; body?: unknown } = {},
): Promise<{
  status: number;
  ms: number;
  retryAfter: string | null;
  setCookies: string[];
  text: string;
}> {
  const started = Date.now();
  try {
    const res = await fetch(url, {
      method: init.method ?? 'GET',
      headers: {
        ...(init.cookie ? { cookie: init.cookie } : {}),
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
      signal: AbortSignal.timeout(8_000),
    });
    const text = await res.text();
    return {
      status: res.status,
      ms: Date.now() - started,
      retryAfter: res.headers.get('retry-after'),
      setCookies: res.headers.getSetCookie(),
      text,
    };
  } catch {
    return { status: 0, ms: Date.now() - started, retryAfter: null, setCookies: [], text: '' };
  }
}

/** Everything a Nest Logger was asked to print, as text (errors with their message, stack and causes). */
function logText(calls: unknown[][]): string {
  const parts: string[] = [];
  const add = (value: unknown, depth = 0): void => {
    if (depth > 5) return;
    if (value instanceof Error) {
      parts.push(value.name, value.message, value.stack ?? '');
      add(value.cause, depth + 1);
    } else if (typeof value === 'string') {
      parts.push(value);
    } else if (value !== undefined) {
      try {
        parts.push(JSON.stringify(value));
      } catch {
        parts.push(String(value));
      }
    }
  };
  for (const args of calls) for (const arg of args) add(arg);
  return parts.join('\n');
}

const UNAVAILABLE = /Session store unavailable/;
const RECOVERED = /Session store available again/;

describe.each(PLATFORMS)('Redis outage under load, two instances (%s)', (platform) => {
  const crashes: unknown[] = [];
  const onCrash = (error: unknown) => crashes.push(error);

  beforeAll(() => {
    process.on('uncaughtException', onCrash);
    process.on('unhandledRejection', onCrash);
  });
  afterAll(() => {
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
  });

  let redis: RedisServer | undefined;
  let apps: SampleAppHarness<RedisStore>[] = [];
  let proxy: RoundRobinProxy | undefined;
  afterEach(async () => {
    redis?.resume();
    await proxy?.close();
    for (const app of apps) await app.close();
    await redis?.stop();
    redis = undefined;
    proxy = undefined;
    apps = [];
    jest.restoreAllMocks();
  });

  it.each(['kill', 'freeze'] as const)(
    '%s Redis for 5 s: only 503s (with Retry-After, within 2 s), /health unaffected, every acknowledged write readable after recovery',
    async (mode) => {
      const errors = jest.spyOn(Logger.prototype, 'error');
      const logs = jest.spyOn(Logger.prototype, 'log');
      redis = await startRedis({ persistent: true });
      for (let i = 0; i < 2; i++) {
        apps.push(await startSampleApp(platform, { store: new RedisStore({ url: redis.url }) }));
      }
      const instances = apps.flatMap((app) => app.instances).length;
      proxy = await startRoundRobinProxy(apps.map((app) => app.http));
      const base = proxy.url;

      // Sessions committed before the outage, each with a few prefs.
      const users = await Promise.all(
        Array.from({ length: USERS }, (_, i) => logIn(base, i % 2 === 0 ? 'alice' : 'admin')),
      );
      const acked = users.map(() => new Map<string, number>());
      for (const [u, cookie] of users.entries()) {
        for (let k = 0; k < 3; k++) {
          const res = await call(`${base}/prefs/pre${k}`, {
            method: 'PUT',
            cookie,
            body: { value: u * 10 + k },
          });
          expect(res.status).toBe(200);
          acked[u].set(`pre${k}`, u * 10 + k);
        }
      }
      const mintedIds: string[] = [];

      // Load: WORKERS loops of mixed requests until `end`.
      const samples: Sample[] = [];
      const started = Date.now();
      const end = started + BEFORE_OUTAGE_MS + OUTAGE_MS + AFTER_OUTAGE_MS;
      let seq = 0;
      const worker = async (w: number) => {
        const routes: Route[] = ['me', 'put', 'health', 'home', 'me-anon'];
        for (let n = w; Date.now() < end; n++) {
          const route = routes[n % routes.length];
          const u = (n * 7 + w) % USERS;
          const at = Date.now();
          let res: Awaited<ReturnType<typeof call>>;
          if (route === 'me') res = await call(`${base}/me`, { cookie: users[u] });
          else if (route === 'health') res = await call(`${base}/health`);
          else if (route === 'me-anon') res = await call(`${base}/me`);
          else if (route === 'home') {
            res = await call(`${base}/`);
            for (const set of res.setCookies) {
              const pair = set.split(';')[0];
              if (pair.startsWith('sid=') && pair.length > 4) mintedIds.push(idOf(pair));
            }
          } else {
            const value = seq++;
            const name = `w${value}`;
            res = await call(`${base}/prefs/${name}`, {
              method: 'PUT',
              cookie: users[u],
              body: { value },
            });
            if (res.status === 200) acked[u].set(name, value);
          }
          samples.push({ route, status: res.status, ms: res.ms, at, retryAfter: res.retryAfter });
        }
      };
      const load = Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));

      await sleep(BEFORE_OUTAGE_MS);
      const outageStart = Date.now();
      if (mode === 'kill') await redis.kill();
      else redis.pause();
      await sleep(OUTAGE_MS);
      if (mode === 'kill') await redis.restart();
      else redis.resume();
      const outageEnd = Date.now();
      await load;

      // --- every response during the run ---
      const statuses = (route: Route) =>
        [...new Set(samples.filter((s) => s.route === route).map((s) => s.status))].sort();
      const fiveXx = samples.filter((s) => s.status >= 500 && s.status !== 503);
      expect(fiveXx).toEqual([]);
      expect(samples.filter((s) => s.status === 0)).toEqual([]); // no hang, no reset
      const unavailable = samples.filter((s) => s.status === 503);
      for (const s of unavailable) expect(Number(s.retryAfter)).toBeGreaterThan(0);
      expect(statuses('health')).toEqual([200]);
      expect(statuses('me-anon')).toEqual([401]); // no cookie: no store call, unaffected
      const sessionRoutes = samples.filter((s) => s.route === 'me' || s.route === 'put');
      const during = sessionRoutes.filter((s) => s.at >= outageStart && s.at < outageEnd);
      const maxLatency = Math.max(...sessionRoutes.map((s) => s.ms));
      expect(maxLatency).toBeLessThan(MAX_SESSION_ROUTE_MS);
      // The outage was real: session routes failed (closed) while Redis was away.
      // Each worker's store-bound calls take up to the store's deadline (1.5 s
      // when Redis hangs), so in 5 s every worker fails at least one of them.
      expect(during.filter((s) => s.status === 503).length).toBeGreaterThanOrEqual(WORKERS);
      expect(during.every((s) => s.status === 200 || s.status === 503)).toBe(true);
      const firstOkAfter = sessionRoutes
        .filter((s) => s.at >= outageEnd && s.status === 200)
        .sort((a, b) => a.at - b.at)[0];
      expect(firstOkAfter).toBeDefined();
      const recoveryMs = firstOkAfter.at + firstOkAfter.ms - outageEnd;
      const last = sessionRoutes.filter((s) => s.at >= end - 1_000);
      expect(last.length).toBeGreaterThan(0);
      expect(last.every((s) => s.status === 200)).toBe(true);

      // --- after recovery: the same instances, every committed session and acknowledged write ---
      for (const app of apps) {
        expect((await call(`${app.http}/health`)).status).toBe(200);
        for (const cookie of users)
          expect((await call(`${app.http}/me`, { cookie })).status).toBe(200);
      }
      for (const [u, cookie] of users.entries()) {
        const res = await call(`${base}/prefs`, { cookie });
        expect(res.status).toBe(200);
        expect(JSON.parse(res.text)).toMatchObject(Object.fromEntries(acked[u]));
      }
      const writesAcked = acked.reduce((sum, m) => sum + m.size, 0) - USERS * 3;
      expect(writesAcked).toBeGreaterThan(10);
      expect(crashes).toEqual([]);
      // both instances took their share of the load
      expect(Math.min(...proxy.forwarded)).toBeGreaterThan(samples.length / 3);

      // --- logs: one line per outage and instance, one recovery line, never an ID ---
      const outageLines = errors.mock.calls.filter((args) => UNAVAILABLE.test(String(args[0])));
      const outageLoggers = new Set(
        errors.mock.contexts.filter((_, i) => UNAVAILABLE.test(String(errors.mock.calls[i][0]))),
      );
      expect(outageLines).toHaveLength(instances);
      expect(outageLoggers.size).toBe(instances);
      expect(errors.mock.calls.length).toBe(outageLines.length); // nothing else was logged as an error
      expect(logs.mock.calls.filter((args) => RECOVERED.test(String(args[0])))).toHaveLength(
        instances,
      );
      const text = logText([...errors.mock.calls, ...logs.mock.calls]);
      const ids = [...users.map(idOf), ...mintedIds];
      expect(ids.length).toBeGreaterThan(USERS);
      for (const id of ids) expect(text).not.toContain(id);

      const routes = (['me', 'put', 'health', 'home', 'me-anon'] as Route[]).map(
        (r) => `${r}:${samples.filter((s) => s.route === r).length}`,
      );
      console.log(
        `[outage ${platform}/${mode}] ${samples.length} requests (${routes.join(' ')}), ` +
          `${unavailable.length} × 503, max session-route latency ${maxLatency} ms, ` +
          `recovery ${recoveryMs} ms after Redis returned, ${writesAcked} writes acknowledged ` +
          `during the run, ${instances} instances`,
      );
    },
    40_000,
  );
});

/** Issue 3 item 8: `storeOutage: 'anonymous'` (SESSION_STORE_OUTAGE) degrades to no session. */
describe.each(PLATFORMS)("storeOutage: 'anonymous' (%s)", (platform) => {
  let redis: RedisServer | undefined;
  let app: SampleAppHarness<RedisStore> | undefined;
  afterAll(async () => {
    await app?.close();
    await redis?.stop();
  });

  it('while Redis is down a read goes on as anonymous (401), a write still 503s; the session is back after', async () => {
    redis = await startRedis({ persistent: true });
    app = await startSampleApp(platform, {
      store: new RedisStore({ url: redis.url }),
      env: { SESSION_STORE_OUTAGE: 'anonymous' },
    });
    const http = app.http;
    const cookie = await logIn(http);
    expect(
      (await call(`${http}/prefs/theme`, { method: 'PUT', cookie, body: { value: 'dark' } }))
        .status,
    ).toBe(200);

    await redis.kill();
    const me = await call(`${http}/me`, { cookie });
    expect(me.status).toBe(401);
    expect(JSON.parse(me.text).reason).toBe('no_session');
    expect(me.ms).toBeLessThan(MAX_SESSION_ROUTE_MS);
    // degraded, not logged out: the cookie is neither cleared nor replaced
    expect(me.setCookies).toEqual([]);
    expect((await call(`${http}/prefs`, { cookie })).status).toBe(401);
    // a write that cannot be saved is not acknowledged
    for (const res of [await call(`${http}/`, { cookie }), await call(`${http}/`)]) {
      expect(res.status).toBe(503);
      expect(Number(res.retryAfter)).toBeGreaterThan(0);
      expect(res.setCookies).toEqual([]);
      expect(res.ms).toBeLessThan(MAX_SESSION_ROUTE_MS);
    }
    expect((await call(`${http}/health`)).status).toBe(200);

    await redis.restart();
    const deadline = Date.now() + 5_000;
    let back = await call(`${http}/me`, { cookie });
    while (back.status !== 200 && Date.now() < deadline) {
      await sleep(100);
      back = await call(`${http}/me`, { cookie });
    }
    expect(back.status).toBe(200);
    expect(JSON.parse((await call(`${http}/prefs`, { cookie })).text)).toEqual({ theme: 'dark' });
  });

  it("the default ('fail-closed') answers the same read 503 (control)", async () => {
    await app?.close();
    await redis?.stop();
    redis = await startRedis();
    app = await startSampleApp(platform, { store: new RedisStore({ url: redis.url }) });
    const cookie = await logIn(app.http);
    await redis.kill();
    const me = await call(`${app.http}/me`, { cookie });
    expect(me.status).toBe(503);
    expect(Number(me.retryAfter)).toBeGreaterThan(0);
    expect(me.ms).toBeLessThan(MAX_SESSION_ROUTE_MS);
    // back (empty: this server keeps no data), without restarting the app
    await redis.restart();
    const deadline = Date.now() + 5_000;
    let home = await call(`${app.http}/`);
    while (home.status !== 200 && Date.now() < deadline) {
      await sleep(100);
      home = await call(`${app.http}/`);
    }
    expect(home.status).toBe(200);
  });
});
