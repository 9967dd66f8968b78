import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { SessionRecord } from '../../lib/stores/session-record.js';
import { RedisStore } from '../../lib/stores/redis.store.js';
import { CountingStore } from '../support/counting.store.js';
import { rawCommand, startRedis, type RedisServer } from '../support/redis-servers.js';
import {
  logIn,
  PLATFORMS,
  startSampleApp,
  type SampleAppHarness,
} from '../support/sample-app.harness.js';

/**
 * A CountingStore around a real RedisStore that tells when a `get` failed
 * (the store was unreachable) and can hold every write back until released,
 * so a test can let a request's load fail on a frozen Redis and its commit
 * run on a live one. Every call still goes to Redis.
 */
class OutageProbeStore extends CountingStore {
  getFailures = 0;
  /** Write methods called (counted when called, before any hold). */
  writeAttempts: string[] = [];
  /** While set, every write waits for it before it reaches Redis. */
  writesHeld: Promise<void> | undefined;
  private waiters: Array<() => void> = [];

  /** Resolves at the next `get` that fails. */
  nextGetFailure(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  override async get(key: string): Promise<SessionRecord | null> {
    try {
      return await super.get(key);
    } catch (error) {
      this.getFailures++;
      for (const wake of this.waiters.splice(0)) wake();
      throw error;
    }
  }

  private async hold(method: string): Promise<void> {
    this.writeAttempts.push(method);
    await this.writesHeld;
  }

  override async set(...args: Parameters<CountingStore['set']>) {
    await this.hold('set');
    return super.set(...args);
  }

  override async update(...args: Parameters<CountingStore['update']>) {
    await this.hold('update');
    return super.update(...args);
  }

  override async rotate(...args: Parameters<CountingStore['rotate']>) {
    await this.hold('rotate');
    return super.rotate(...args);
  }

  override async destroy(...args: Parameters<CountingStore['destroy']>) {
    await this.hold('destroy');
    return super.destroy(...args);
  }

  override async revoke(...args: Parameters<CountingStore['revoke']>) {
    await this.hold('revoke');
    return super.revoke(...args);
  }
}

/** One HTTP call with a hard bound: a hang shows up as status 0, not as a stuck test. */
async function call(url: string, cookie?: string) {
  const started = Date.now();
  try {
    const res = await fetch(url, {
      headers: cookie ? { cookie } : {},
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

/**
 * Review item 4: under `storeOutage: 'anonymous'` (SESSION_STORE_OUTAGE) a
 * request whose session load failed goes on anonymous. If its handler then
 * writes to the session (`GET /` counts views) and the store is back by the
 * commit, the commit must not mint a new session whose cookie replaces the
 * user's real one: 503 with Retry-After, no Set-Cookie, and the user's
 * original cookie still works once the store is back.
 */
describe.each(PLATFORMS)("storeOutage: 'anonymous', store back by the commit (%s)", (platform) => {
  let redis: RedisServer;
  let store: OutageProbeStore;
  let app: SampleAppHarness<OutageProbeStore>;
  let http: string;

  beforeAll(async () => {
    redis = await startRedis();
    store = new OutageProbeStore({ inner: new RedisStore({ url: redis.url }) });
    app = await startSampleApp(platform, { store, env: { SESSION_STORE_OUTAGE: 'anonymous' } });
    http = app.http;
  });
  afterEach(() => {
    redis?.resume();
    if (store) {
      store.writesHeld = undefined;
      store.readDelayMs = 0;
    }
  });
  afterAll(async () => {
    redis?.resume();
    await app?.close(); // the module closes the store it was given
    await redis?.stop();
  });

  it("a write after a failed load: 503 + Retry-After, no cookie; the user's cookie still works after", async () => {
    const cookie = await logIn(http);
    const first = await call(`${http}/`, cookie);
    expect(first.status).toBe(200);
    expect(JSON.parse(first.text)).toEqual({ views: 1 });

    store.reset();
    store.writeAttempts = [];
    // The load's get reaches Redis only once it is frozen; writes wait until it is live again.
    store.readDelayMs = 200;
    let releaseWrites!: () => void;
    store.writesHeld = new Promise<void>((resolve) => (releaseWrites = resolve));
    const getFailed = store.nextGetFailure();
    const pending = call(`${http}/`, cookie);
    redis.pause();
    try {
      await getFailed; // the store's deadline gave up on the frozen Redis: the request is anonymous
    } finally {
      redis.resume();
    }
    store.readDelayMs = 0;
    // Redis answers again before any write of this request can reach it.
    expect(await rawCommand(redis.port, 'PING')).toMatch(/^\+PONG/);
    releaseWrites();
    store.writesHeld = undefined;

    const res = await pending;
    expect(store.getFailures).toBe(1);
    expect(res.status).toBe(503);
    expect(Number(res.retryAfter)).toBeGreaterThan(0);
    expect(JSON.parse(res.text)).toMatchObject({ statusCode: 503, reason: 'store_unavailable' });
    // the user's cookie is neither replaced nor cleared, and no session was made
    expect(res.setCookies).toEqual([]);
    expect(store.writeAttempts).toEqual([]);

    // The store is back: the original cookie is still the user's session, views intact.
    const me = await call(`${http}/me`, cookie);
    expect(me.status).toBe(200);
    expect(JSON.parse(me.text)).toMatchObject({ userId: 'alice' });
    const home = await call(`${http}/`, cookie);
    expect(home.status).toBe(200);
    expect(JSON.parse(home.text)).toEqual({ views: 2 });
    expect(home.setCookies).toEqual([]);
  }, 20_000);
});
