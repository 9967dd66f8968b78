import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { cookiePair, mintsCookie, sessionCookie, setCookies } from '../support/cookies.js';
import type { CountingStore } from '../support/counting.store.js';
import {
  logIn,
  PLATFORMS,
  startSampleApp,
  type SampleAppHarness,
} from '../support/sample-app.harness.js';

/** Every route and status code of DESIGN.md's sample-app table, on both platforms. */
describe.each(PLATFORMS)('sample app HTTP contract (%s)', (platform) => {
  let h: SampleAppHarness<CountingStore>;
  let http: string;

  beforeAll(async () => {
    h = await startSampleApp(platform);
    http = h.http;
  });
  afterAll(async () => {
    await h?.close();
  });

  describe('GET /', () => {
    it('counts views in a session it creates, with the default cookie attributes', async () => {
      const first = await request(http).get('/');
      expect(first.status).toBe(200);
      expect(first.body).toEqual({ views: 1 });
      const cookie = sessionCookie(first)!;
      expect(cookie).toBeDefined();
      expect(cookie.cleared).toBe(false);
      expect(cookie.attributes.httponly).toBe(true);
      expect(String(cookie.attributes.samesite).toLowerCase()).toBe('lax');
      expect(cookie.attributes.path).toBe('/');
      expect(cookie.attributes.secure).toBeUndefined();
      expect(cookie.attributes.domain).toBeUndefined();
      // the cookie lives until the absolute timeout (8 h by default)
      expect(cookie.maxAge).toBeGreaterThan(8 * 3600 - 60);
      expect(cookie.maxAge).toBeLessThanOrEqual(8 * 3600);
      expect(first.headers['cache-control']).toBe('no-store');

      const second = await request(http).get('/').set('Cookie', cookie.pair);
      expect(second.status).toBe(200);
      expect(second.body).toEqual({ views: 2 });
      const third = await request(http).get('/').set('Cookie', cookie.pair);
      expect(third.body).toEqual({ views: 3 });
    });

    it('gives separate visitors separate sessions', async () => {
      const a = cookiePair(await request(http).get('/'));
      const b = cookiePair(await request(http).get('/'));
      expect(a).not.toBe(b);
      await request(http).get('/').set('Cookie', a);
      expect((await request(http).get('/').set('Cookie', a)).body).toEqual({ views: 3 });
      expect((await request(http).get('/').set('Cookie', b)).body).toEqual({ views: 2 });
    });
  });

  describe('POST /auth/login', () => {
    it('answers 200 { userId, roles } and sets a session cookie', async () => {
      const res = await request(http)
        .post('/auth/login')
        .send({ username: 'alice', password: 'alice-password' });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ userId: 'alice', roles: ['user'] });
      expect(mintsCookie(res)).toBe(true);

      const admin = await request(http)
        .post('/auth/login')
        .send({ username: 'admin', password: 'admin-password' });
      expect(admin.status).toBe(200);
      expect(admin.body).toEqual({ userId: 'admin', roles: ['user', 'admin'] });
    });

    it.each([
      ['wrong password', { username: 'alice', password: 'admin-password' }],
      ['unknown user', { username: 'mallory', password: 'alice-password' }],
      ['a prototype name as user', { username: '__proto__', password: 'x' }],
      ["another user's password", { username: 'admin', password: 'alice-password' }],
    ])('answers 401 on bad credentials (%s), without a session cookie', async (_name, body) => {
      const res = await request(http).post('/auth/login').send(body);
      expect(res.status).toBe(401);
      expect(res.body.statusCode).toBe(401);
      expect(mintsCookie(res)).toBe(false);
    });

    it.each([
      ['an empty object', {}],
      ['no password', { username: 'alice' }],
      ['no username', { password: 'alice-password' }],
      ['a numeric username', { username: 1, password: 'alice-password' }],
      ['an empty username', { username: '', password: 'alice-password' }],
      ['an array password', { username: 'alice', password: ['alice-password'] }],
      ['an unknown extra field', { username: 'alice', password: 'alice-password', admin: true }],
      ['an over-long username', { username: 'a'.repeat(129), password: 'alice-password' }],
      ['null fields', { username: null, password: null }],
    ])("answers 400 on an invalid body (%s), with Nest's error shape", async (_name, body) => {
      const res = await request(http).post('/auth/login').send(body);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      expect(mintsCookie(res)).toBe(false);
    });

    it('answers 400 on a body that is not a JSON object', async () => {
      const array = await request(http).post('/auth/login').send([]);
      expect(array.status).toBe(400);
      const broken = await request(http)
        .post('/auth/login')
        .set('Content-Type', 'application/json')
        .send('{"username": "alice",');
      expect(broken.status).toBe(400);
      const none = await request(http).post('/auth/login');
      expect(none.status).toBe(400);
    });
  });

  describe('GET /me', () => {
    it('answers 401 { reason: "no_session" } without a cookie', async () => {
      const res = await request(http).get('/me');
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ statusCode: 401, reason: 'no_session' });
      expect(setCookies(res)).toEqual([]);
    });

    it('answers 401 no_session for an anonymous (not logged-in) session', async () => {
      const cookie = cookiePair(await request(http).get('/'));
      const res = await request(http).get('/me').set('Cookie', cookie);
      expect(res.status).toBe(401);
      expect(res.body.reason).toBe('no_session');
    });

    it('answers 200 { userId, roles } when logged in', async () => {
      const cookie = await logIn(http, 'admin');
      const res = await request(http).get('/me').set('Cookie', cookie);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ userId: 'admin', roles: ['user', 'admin'] });
    });
  });

  describe('POST /auth/logout', () => {
    it('answers 200, clears the cookie and ends the session', async () => {
      const cookie = await logIn(http);
      const res = await request(http).post('/auth/logout').set('Cookie', cookie);
      expect(res.status).toBe(200);
      const cleared = sessionCookie(res)!;
      expect(cleared).toBeDefined();
      expect(cleared.cleared).toBe(true);
      expect((await request(http).get('/me').set('Cookie', cookie)).status).toBe(401);
    });

    it('answers 200 without a session too, setting no cookie', async () => {
      const res = await request(http).post('/auth/logout');
      expect(res.status).toBe(200);
      expect(mintsCookie(res)).toBe(false);
    });
  });

  describe('POST /auth/promote', () => {
    it('answers 401 without a session', async () => {
      const res = await request(http).post('/auth/promote');
      expect(res.status).toBe(401);
      expect(res.body.reason).toBe('no_session');
    });

    it('adds the editor role, answers 200 { roles } and a new session ID', async () => {
      const cookie = await logIn(http);
      const res = await request(http).post('/auth/promote').set('Cookie', cookie);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ roles: ['user', 'editor'] });
      const rotated = cookiePair(res);
      expect(rotated).not.toBe(cookie);
      const me = await request(http).get('/me').set('Cookie', rotated);
      expect(me.body).toEqual({ userId: 'alice', roles: ['user', 'editor'] });
    });
  });

  describe('GET /admin', () => {
    it('answers 401 without a session', async () => {
      const res = await request(http).get('/admin');
      expect(res.status).toBe(401);
      expect(res.body.reason).toBe('no_session');
    });

    it('answers 403 to a user without the admin role', async () => {
      const cookie = await logIn(http, 'alice');
      const res = await request(http).get('/admin').set('Cookie', cookie);
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ statusCode: 403, error: 'Forbidden' });
    });

    it('answers 200 to an admin', async () => {
      const cookie = await logIn(http, 'admin');
      const res = await request(http).get('/admin').set('Cookie', cookie);
      expect(res.status).toBe(200);
    });
  });

  describe('PUT /prefs/:name and GET /prefs', () => {
    it('answer 401 without a session', async () => {
      expect((await request(http).put('/prefs/theme').send({ value: 'dark' })).status).toBe(401);
      expect((await request(http).get('/prefs')).status).toBe(401);
    });

    it('store one top-level key per name and list them', async () => {
      const cookie = await logIn(http);
      expect((await request(http).get('/prefs').set('Cookie', cookie)).body).toEqual({});
      const put = await request(http)
        .put('/prefs/theme')
        .set('Cookie', cookie)
        .send({ value: 'dark' });
      expect(put.status).toBe(200);
      await request(http)
        .put('/prefs/layout')
        .set('Cookie', cookie)
        .send({ value: { cols: 2, dense: true } });
      await request(http).put('/prefs/theme').set('Cookie', cookie).send({ value: 'light' });
      const list = await request(http).get('/prefs').set('Cookie', cookie);
      expect(list.status).toBe(200);
      expect(list.body).toEqual({ theme: 'light', layout: { cols: 2, dense: true } });
    });

    it('answer 400 for an invalid name or a missing value', async () => {
      const cookie = await logIn(http);
      const longName = await request(http)
        .put(`/prefs/${'x'.repeat(65)}`)
        .set('Cookie', cookie)
        .send({ value: 1 });
      expect(longName.status).toBe(400);
      const badName = await request(http)
        .put('/prefs/a%20b')
        .set('Cookie', cookie)
        .send({ value: 1 });
      expect(badName.status).toBe(400);
      const noValue = await request(http).put('/prefs/theme').set('Cookie', cookie).send({});
      expect(noValue.status).toBe(400);
      expect((await request(http).get('/prefs').set('Cookie', cookie)).body).toEqual({});
    });
  });

  describe('/sessions', () => {
    it('answer 401 without a session', async () => {
      expect((await request(http).get('/sessions')).status).toBe(401);
      expect((await request(http).delete('/sessions')).status).toBe(401);
      expect((await request(http).delete('/sessions/whatever')).status).toBe(401);
    });

    it("GET answers 200 with the user's sessions; DELETE /:handle 200 or 404; DELETE 200 { revoked }", async () => {
      const cookie = await logIn(http, 'admin');
      const list = await request(http).get('/sessions').set('Cookie', cookie);
      expect(list.status).toBe(200);
      const mine = (list.body as { handle: string; current: boolean }[]).find((s) => s.current)!;
      expect(mine).toBeDefined();
      expect(
        (await request(http).delete('/sessions/not-a-handle').set('Cookie', cookie)).status,
      ).toBe(404);
      const other = await logIn(http, 'admin');
      const otherHandle = (
        (await request(http).get('/sessions').set('Cookie', other)).body as {
          handle: string;
          current: boolean;
        }[]
      ).find((s) => s.current)!.handle;
      const one = await request(http).delete(`/sessions/${otherHandle}`).set('Cookie', cookie);
      expect(one.status).toBe(200);
      const all = await request(http).delete('/sessions').set('Cookie', cookie);
      expect(all.status).toBe(200);
      expect(all.body.revoked).toBeGreaterThanOrEqual(1);
    });
  });

  describe('GET /health', () => {
    it('answers 200 and touches no session and no store, cookie or not', async () => {
      const cookie = await logIn(http);
      h.store.reset();
      const bare = await request(http).get('/health');
      expect(bare.status).toBe(200);
      expect(setCookies(bare)).toEqual([]);
      const withCookie = await request(http).get('/health').set('Cookie', cookie);
      expect(withCookie.status).toBe(200);
      expect(setCookies(withCookie)).toEqual([]);
      const withJunk = await request(http).get('/health').set('Cookie', 'sid=junk');
      expect(withJunk.status).toBe(200);
      expect(setCookies(withJunk)).toEqual([]);
      expect(h.store.total()).toBe(0);
    });
  });

  it("answers 404 in Nest's JSON shape for an unknown route, without a session", async () => {
    const res = await request(http).get('/no-such-route');
    expect(res.status).toBe(404);
    expect(res.body.statusCode).toBe(404);
    expect(setCookies(res)).toEqual([]);
  });
});

/** NODE_ENV=production: Secure cookies named __Host-sid, sent also over plain HTTP (behind a TLS proxy). */
describe.each(PLATFORMS)('sample app in production mode (%s)', (platform) => {
  let h: SampleAppHarness<CountingStore>;

  beforeAll(async () => {
    h = await startSampleApp(platform, { env: { NODE_ENV: 'production' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('sets a Secure __Host-sid cookie over plain HTTP, and reads it back', async () => {
    const res = await request(h.http)
      .post('/auth/login')
      .send({ username: 'alice', password: 'alice-password' });
    expect(res.status).toBe(200);
    const cookie = sessionCookie(res, '__Host-sid')!;
    expect(cookie).toBeDefined();
    expect(cookie.attributes.secure).toBe(true);
    expect(cookie.attributes.path).toBe('/');
    expect(cookie.attributes.domain).toBeUndefined();
    expect(cookie.attributes.httponly).toBe(true);
    expect(sessionCookie(res, 'sid')).toBeUndefined();
    const me = await request(h.http).get('/me').set('Cookie', cookie.pair);
    expect(me.status).toBe(200);
    expect(me.body.userId).toBe('alice');
    // a plain `sid` cookie means nothing in production mode
    const plain = await request(h.http).get('/me').set('Cookie', `sid=${cookie.value}`);
    expect(plain.status).toBe(401);
  });
});
