import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { cookiePair, mintsCookie, setCookies } from '../support/cookies.js';
import type { CountingStore } from '../support/counting.store.js';
import {
  logIn,
  PLATFORMS,
  sleep,
  startSampleApp,
  type SampleAppHarness,
} from '../support/sample-app.harness.js';

/**
 * Rules 3, 5 and 6 counted at the store: what each kind of request costs.
 * The counting store is a real MemoryStore; the counts are read right after
 * the response arrives, which is after the commit (rule 7).
 */
describe.each(PLATFORMS)('store calls per request (%s)', (platform) => {
  let h: SampleAppHarness<CountingStore>;
  let http: string;
  let store: CountingStore;

  beforeAll(async () => {
    h = await startSampleApp(platform); // default timeouts: no touch is due within this suite
    http = h.http;
    store = h.store;
  });
  afterAll(async () => {
    await h?.close();
  });
  beforeEach(() => store.reset());

  it.each([
    ['GET', '/me', 401],
    ['GET', '/health', 200],
    ['GET', '/admin', 401],
    ['GET', '/prefs', 401],
    ['PUT', '/prefs/theme', 401],
    ['GET', '/sessions', 401],
    ['DELETE', '/sessions', 401],
    ['POST', '/auth/logout', 200],
    ['POST', '/auth/promote', 401],
  ] as const)(
    'a request without a cookie (%s %s) makes zero store calls',
    async (method, path, status) => {
      const verb = method.toLowerCase() as 'get' | 'put' | 'post' | 'delete';
      const agent = request(http);
      const res = await agent[verb](path).send(method === 'PUT' ? { value: 1 } : undefined);
      expect(res.status).toBe(status);
      expect(store.nonZero()).toEqual({});
    },
  );

  it('a failed or invalid log-in without a cookie makes zero store calls', async () => {
    expect(
      (await request(http).post('/auth/login').send({ username: 'alice', password: 'x' })).status,
    ).toBe(401);
    expect((await request(http).post('/auth/login').send({})).status).toBe(400);
    expect(store.nonZero()).toEqual({});
  });

  it('a cookie that fails verification reads and writes no session (only the guessing-defence counter)', async () => {
    const res = await request(http).get('/me').set('Cookie', 'sid=forged.value');
    expect(res.status).toBe(401);
    expect(store.nonZero()).toEqual({ incrementCounter: 1 });
  });

  it('the first write of an anonymous visitor creates the session with one set', async () => {
    const res = await request(http).get('/');
    expect(res.body).toEqual({ views: 1 });
    expect(store.nonZero()).toEqual({ set: 1 });
  });

  it('log-in without a cookie makes exactly one set', async () => {
    await logIn(http);
    expect(store.nonZero()).toEqual({ set: 1 });
  });

  it('log-in from an existing session makes one get and one rotate', async () => {
    const anonymous = cookiePair(await request(http).get('/'));
    store.reset();
    await logIn(http, 'alice', anonymous);
    expect(store.nonZero()).toEqual({ get: 1, rotate: 1 });
  });

  it('an authenticated read-only request (GET /me) makes exactly one get and no write', async () => {
    const cookie = await logIn(http);
    for (let i = 0; i < 5; i++) {
      store.reset();
      const res = await request(http).get('/me').set('Cookie', cookie);
      expect(res.status).toBe(200);
      expect(setCookies(res)).toEqual([]);
      expect(store.nonZero()).toEqual({ get: 1 });
    }
    store.reset();
    expect((await request(http).get('/prefs').set('Cookie', cookie)).status).toBe(200);
    expect(store.nonZero()).toEqual({ get: 1 });
  });

  it('a write (PUT /prefs/:name) makes one get and one update; an unchanged value writes nothing', async () => {
    const cookie = await logIn(http);
    store.reset();
    const put = await request(http)
      .put('/prefs/theme')
      .set('Cookie', cookie)
      .send({ value: 'dark' });
    expect(put.status).toBe(200);
    expect(store.nonZero()).toEqual({ get: 1, update: 1 });
    expect(mintsCookie(put)).toBe(false); // same session, same cookie

    store.reset();
    await request(http).put('/prefs/theme').set('Cookie', cookie).send({ value: 'dark' });
    expect(store.nonZero()).toEqual({ get: 1 });

    store.reset();
    const views = await request(http).get('/').set('Cookie', cookie);
    expect(views.body).toEqual({ views: 1 });
    expect(store.nonZero()).toEqual({ get: 1, update: 1 });
  });

  it('promote makes one get and one rotate; logout one get and one destroy', async () => {
    const cookie = await logIn(http);
    store.reset();
    const promoted = cookiePair(await request(http).post('/auth/promote').set('Cookie', cookie));
    expect(store.nonZero()).toEqual({ get: 1, rotate: 1 });
    store.reset();
    await request(http).post('/auth/logout').set('Cookie', promoted);
    expect(store.nonZero()).toEqual({ get: 1, destroy: 1 });
  });

  it('a 403 (GET /admin without the role) makes one get and no write', async () => {
    const cookie = await logIn(http);
    store.reset();
    expect((await request(http).get('/admin').set('Cookie', cookie)).status).toBe(403);
    expect(store.nonZero()).toEqual({ get: 1 });
  });
});

/** Rule 5: the touch (extending idle expiry) is throttled to half the idle timeout. */
describe.each(PLATFORMS)('throttled touch (%s)', (platform) => {
  const IDLE_MS = 1000;
  let h: SampleAppHarness<CountingStore>;

  beforeAll(async () => {
    h = await startSampleApp(platform, { env: { SESSION_IDLE_TIMEOUT_MS: String(IDLE_MS) } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('a read-only request writes a touch only once half of the idle timeout has passed', async () => {
    const cookie = await logIn(h.http);
    h.store.reset();
    await request(h.http).get('/me').set('Cookie', cookie);
    expect(h.store.nonZero()).toEqual({ get: 1 });

    await sleep(IDLE_MS / 2 + 100);
    h.store.reset();
    const touched = await request(h.http).get('/me').set('Cookie', cookie);
    expect(touched.status).toBe(200);
    expect(h.store.nonZero()).toEqual({ get: 1, update: 1 });
    expect(setCookies(touched)).toEqual([]); // a touch needs no new cookie

    // the touch reset the throttle
    h.store.reset();
    await request(h.http).get('/me').set('Cookie', cookie);
    expect(h.store.nonZero()).toEqual({ get: 1 });
  });
});
