import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { RedisStore } from '../../lib/stores/redis.store.js';
import { CountingStore } from '../support/counting.store.js';
import { startRedis, type RedisServer } from '../support/redis-servers.js';
import {
  logIn,
  PLATFORMS,
  sleep,
  startSampleApp,
  type SampleAppHarness,
} from '../support/sample-app.harness.js';

/** Rule 9 / issue 3 item 4: a route that needs the session answers within this. */
const MAX_SESSION_ROUTE_MS = 2_000;
/** How long the wrapper holds each store call before it reaches Redis (the window to freeze it in). */
const HOLD_MS = 300;

interface Answer {
  status: number;
  ms: number;
  retryAfter: string | null;
  text: string;
}

/** One HTTP call with a hard bound: a hang shows up as status 0, not as a stuck test. */
async function call(url: string, init: { method?: string; cookie?: string } = {}): Promise<Answer> {
  const started = Date.now();
  try {
    const res = await fetch(url, {
      method: init.method ?? 'GET',
      headers: init.cookie ? { cookie: init.cookie } : {},
      signal: AbortSignal.timeout(8_000),
    });
    const text = await res.text();
    return {
      status: res.status,
      ms: Date.now() - started,
      retryAfter: res.headers.get('retry-after'),
      text,
    };
  } catch {
    return { status: 0, ms: Date.now() - started, retryAfter: null, text: '' };
  }
}

/**
 * Issue 8 item 9: the store calls `SessionService` makes (listForUser,
 * revoke, revokeAllForUser) fail closed like the request path's: 503 with
 * `reason: store_unavailable`, never a 500. On a real redis-server that is frozen (SIGSTOP,
 * as in test/redis/outage.e2e.spec.ts): connections stay open and nothing
 * answers, so every store call ends at the store's own deadline.
 *
 * The session itself must load first (else the request path answers 503
 * before the service is asked): the app runs on a CountingStore around the
 * RedisStore, which can hold each call back for a moment before it reaches
 * Redis; the server is frozen once the service's first store call has
 * started and before it reaches Redis, so the load succeeded and the
 * service's call is the one that fails.
 */
describe.each(PLATFORMS)('SessionService on a frozen Redis (%s)', (platform) => {
  let redis: RedisServer;
  let store: CountingStore;
  let app: SampleAppHarness<CountingStore>;
  let cookie: string;
  let other: string;

  beforeAll(async () => {
    redis = await startRedis();
    store = new CountingStore({ inner: new RedisStore({ url: redis.url }) });
    app = await startSampleApp(platform, { store });
    cookie = await logIn(app.http, 'alice');
    other = await logIn(app.http, 'alice');
  });
  afterEach(() => {
    redis?.resume();
    if (store) store.readDelayMs = store.writeDelayMs = 0;
  });
  afterAll(async () => {
    redis?.resume();
    await app?.close();
    await store?.close(); // a given store is left open by the harness
    await redis?.stop();
  });

  /** Polls until the route answers 200 again (Redis resumed): recovery without a restart. */
  async function recovered(path: string): Promise<Answer> {
    const deadline = Date.now() + 5_000;
    let res = await call(`${app.http}${path}`, { cookie });
    while (res.status !== 200 && Date.now() < deadline) {
      await sleep(100);
      res = await call(`${app.http}${path}`, { cookie });
    }
    return res;
  }

  /**
   * Runs `request` with store calls held back, freezes Redis as soon as the
   * store call after the session load starts (the service's: listForUser,
   * revoke...; the load has succeeded by then), and answers the response;
   * Redis is resumed after.
   */
  async function frozenDuringService(request: () => Promise<Answer>): Promise<Answer> {
    const gets = store.calls.get;
    const before = store.total();
    store.readDelayMs = store.writeDelayMs = HOLD_MS;
    const pending = request();
    const deadline = Date.now() + 5_000;
    while (store.total() < before + 2 && Date.now() < deadline) await sleep(2);
    // exactly two calls so far: the load (one read), then the service's first
    expect({ calls: store.total() - before, gets: store.calls.get - gets }).toEqual({
      calls: 2,
      gets: 1,
    });
    redis.pause();
    try {
      return await pending;
    } finally {
      redis.resume();
      store.readDelayMs = store.writeDelayMs = 0;
    }
  }

  /**
   * SessionService runs outside the request's session context, so its 503
   * carries no Retry-After header (the request path's does); the body's
   * `reason` says the same.
   */
  const expect503 = (res: Answer) => {
    expect({ status: res.status, body: res.status === 503 ? undefined : res.text }).toEqual({
      status: 503,
      body: undefined,
    });
    expect(JSON.parse(res.text).reason).toBe('store_unavailable');
    expect(res.ms).toBeLessThan(MAX_SESSION_ROUTE_MS + HOLD_MS * 2);
  };

  it('GET /sessions: 503 when listForUser fails after the session loaded; 200 once Redis is back', async () => {
    expect((await call(`${app.http}/sessions`, { cookie })).status).toBe(200);
    const res = await frozenDuringService(() => call(`${app.http}/sessions`, { cookie }));
    expect503(res);
    const back = await recovered('/sessions');
    expect(back.status).toBe(200);
    expect(JSON.parse(back.text)).toHaveLength(2);
  });

  it('DELETE /sessions/:handle and DELETE /sessions: 503, nothing revoked; both work once Redis is back', async () => {
    const listed = JSON.parse((await call(`${app.http}/sessions`, { cookie })).text) as {
      handle: string;
      current: boolean;
    }[];
    const handle = listed.find((s) => !s.current)!.handle;

    expect503(
      await frozenDuringService(() =>
        call(`${app.http}/sessions/${encodeURIComponent(handle)}`, { method: 'DELETE', cookie }),
      ),
    );
    expect((await recovered('/me')).status).toBe(200);
    expect503(
      await frozenDuringService(() => call(`${app.http}/sessions`, { method: 'DELETE', cookie })),
    );
    // neither call did anything: both sessions are still live
    expect((await recovered('/sessions')).status).toBe(200);
    expect((await call(`${app.http}/me`, { cookie: other })).status).toBe(200);
    expect(JSON.parse((await call(`${app.http}/sessions`, { cookie })).text)).toHaveLength(2);
  });

  it('while Redis stays frozen, every /sessions call answers 503 (never another 5xx), and 200 after', async () => {
    redis.pause();
    let answers: Answer[];
    try {
      answers = await Promise.all(
        (
          [
            ['GET', '/sessions'],
            ['GET', '/sessions'],
            ['DELETE', '/sessions/no-such-handle'],
            ['DELETE', '/sessions'],
            ['GET', '/me'],
          ] as const
        ).map(([method, path]) => call(`${app.http}${path}`, { method, cookie })),
      );
    } finally {
      redis.resume();
    }
    expect(answers.filter((a) => a.status >= 500 && a.status !== 503)).toEqual([]);
    for (const res of answers) expect503(res);
    expect((await call(`${app.http}/health`)).status).toBe(200);
    const back = await recovered('/sessions');
    expect(back.status).toBe(200);
    expect(JSON.parse(back.text)).toHaveLength(2);
  });
});
