import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { CookieSigner } from '../../lib/cookie/cookie.signer.js';
import { ChangeTracker } from '../../lib/session/change-tracker.js';
import { generateSessionId, sessionStoreKey } from '../../lib/session/session-id.js';
import { setCookies, type HasHeaders } from '../support/cookies.js';
import { cookiePair } from '../support/cookies.js';
import { countingHooks, freshSession } from '../support/request-sessions.js';
import type { CountingStore } from '../support/counting.store.js';
import {
  logIn,
  PASSWORDS,
  PLATFORMS,
  REDIS_PAIR,
  startSampleApp,
  TEST_SECRET,
  type SampleAppHarness,
} from '../support/sample-app.harness.js';

const FORBIDDEN = ['__proto__', 'constructor', 'prototype'];

/** A response that sets or clears the session cookie must not be stored by any cache. */
function expectNoStoreWithCookie(what: string, res: HasHeaders & { status: number }) {
  const cookies = setCookies(res).filter((c) => c.startsWith('sid='));
  expect({ what, setsCookie: cookies.length > 0 }).toEqual({ what, setsCookie: true });
  expect({ what, cacheControl: res.headers['cache-control'] }).toEqual({
    what,
    cacheControl: 'no-store',
  });
}

/** Issue 4 item 7 over both platforms: Cache-Control, where the ID may come from, forbidden keys. */
describe.each(PLATFORMS)('headers and ID sources (%s)', (platform) => {
  let h: SampleAppHarness<CountingStore>;
  let http: string;

  beforeAll(async () => {
    h = await startSampleApp(platform);
    http = h.http;
  });
  afterAll(async () => {
    await h?.close();
  });

  it('Cache-Control: no-store on every response that sets or clears the session cookie', async () => {
    // creating a session (GET /, and GET /csrf for a new visitor)
    const home = await request(http).get('/');
    expectNoStoreWithCookie('GET / (new session)', home);
    const anonymous = cookiePair(home);
    expectNoStoreWithCookie('GET /csrf (new session)', await request(http).get('/csrf'));
    // log-in (rotation), privilege change, re-authentication
    const login = await request(http)
      .post('/auth/login')
      .set('Cookie', anonymous)
      .send({ username: 'alice', password: PASSWORDS.alice });
    expectNoStoreWithCookie('POST /auth/login', login);
    const promote = await request(http).post('/auth/promote').set('Cookie', cookiePair(login));
    expectNoStoreWithCookie('POST /auth/promote', promote);
    const reauth = await request(http)
      .post('/auth/reauth')
      .set('Cookie', cookiePair(promote))
      .send({ password: PASSWORDS.alice });
    expectNoStoreWithCookie('POST /auth/reauth', reauth);
    // clearing: logout, logout everywhere, a dead cookie presented again
    const live = cookiePair(reauth);
    expectNoStoreWithCookie(
      'POST /auth/logout',
      await request(http).post('/auth/logout').set('Cookie', live),
    );
    expectNoStoreWithCookie(
      'GET /me with a dead cookie',
      await request(http).get('/me').set('Cookie', live),
    );
    const other = await logIn(http);
    expectNoStoreWithCookie(
      'DELETE /sessions',
      await request(http).delete('/sessions').set('Cookie', other),
    );
    expectNoStoreWithCookie(
      'GET /me with a badly signed cookie',
      await request(http)
        .get('/me')
        .set('Cookie', `sid=${'A'.repeat(43)}.${'B'.repeat(43)}`),
    );
  });

  it('the session ID is read only from the cookie: never a query string, body or other header', async () => {
    const pair = await logIn(http);
    const value = pair.slice('sid='.length);
    h.store.reset();
    const attempts = [
      request(http).get(`/me?sid=${encodeURIComponent(value)}`),
      request(http).get(`/me?session=${encodeURIComponent(value)}&sessionId=${value}`),
      request(http).get(`/me;sid=${encodeURIComponent(value)}`),
      request(http).get('/me').set('Authorization', `Bearer ${value}`),
      request(http).get('/me').set('Authorization', value),
      request(http).get('/me').set('x-session-id', value),
      request(http).get('/me').set('sid', value),
      request(http).get('/me').set('Cookie2', pair),
      request(http).get('/me').set('X-Cookie', pair),
      request(http).get('/me').set('Set-Cookie', pair),
      request(http).post('/transfer').send({ amount: 1, sid: value }),
      request(http).put('/prefs/colour').send({ value: 'red', sid: value }),
      request(http)
        .post('/auth/promote')
        .type('form')
        .send(`sid=${encodeURIComponent(value)}`),
    ];
    for (const attempt of attempts) {
      const res = await attempt;
      expect([401, 404]).toContain(res.status);
      if (res.status === 401) expect(res.body.reason).toBe('no_session');
      expect(setCookies(res)).toEqual([]);
    }
    // no cookie means no session lookup at all
    expect(h.store.total()).toBe(0);
    // control: the same value as the cookie is the session
    expect((await request(http).get('/me').set('Cookie', pair)).status).toBe(200);
  });

  it('__proto__, constructor and prototype in a stored record are ignored on load', async () => {
    const id = generateSessionId();
    const now = Date.now();
    // own keys named like prototype accessors, as JSON.parse makes them
    const data = JSON.parse(
      '{"__proto__":"{\\"polluted\\":true}","constructor":"{\\"polluted\\":true}",' +
        '"prototype":"\\"x\\"","pref:colour":"\\"red\\""}',
    ) as Record<string, string>;
    expect(Object.keys(data)).toEqual(['__proto__', 'constructor', 'prototype', 'pref:colour']);
    await h.store.inner.set(
      sessionStoreKey(id),
      {
        handle: 'h-proto-test',
        createdAt: now,
        lastSeenAt: now,
        authenticatedAt: now,
        userId: 'alice',
        roles: ['user'],
        data,
      },
      60_000,
    );
    // the store really holds them as own keys, so the load path is what ignores them
    // (RedisStore's decoder drops `__proto__` itself: assigning a string to it is a no-op)
    const stored = await h.store.inner.get(sessionStoreKey(id));
    expect(Object.keys(stored!.data).sort()).toEqual(
      Object.keys(data)
        .filter((key) => !(REDIS_PAIR && key === '__proto__'))
        .sort(),
    );
    expect(Object.getPrototypeOf(stored!.data)).toBe(Object.prototype);
    const cookie = `sid=${new CookieSigner([TEST_SECRET]).sign(id)}`;
    const prefs = await request(http).get('/prefs').set('Cookie', cookie);
    expect(prefs.status).toBe(200);
    expect(prefs.body).toEqual({ colour: 'red' });
    // writing another key leaves the forbidden ones unread and unapplied
    const put = await request(http).put('/prefs/size').set('Cookie', cookie).send({ value: 'L' });
    expect(put.status).toBe(200);
    expect((await request(http).get('/prefs').set('Cookie', cookie)).body).toEqual({
      colour: 'red',
      size: 'L',
    });
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('forbidden session keys (unit)', () => {
  const timeouts = { idleTimeoutMs: 60_000, absoluteTimeoutMs: 120_000 };

  it.each(FORBIDDEN)('set(%p) is refused with a TypeError and changes nothing', (key) => {
    const persistence = countingHooks();
    const session = freshSession(persistence, timeouts);
    expect(() => session.set(key, { polluted: true })).toThrow(TypeError);
    expect(() => session.set(key, { polluted: true })).toThrow(/pollute/);
    expect(session.keys()).toEqual([]);
    expect(session.has(key)).toBe(false);
    expect(session.hasContent).toBe(false);
    expect(persistence.changes).toBe(0);
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('ordinary keys that merely contain those words are fine', () => {
    const session = freshSession(countingHooks(), timeouts);
    for (const key of ['proto', '__proto', 'constructorName', 'prototypes', 'my.__proto__']) {
      session.set(key, 1);
    }
    expect(session.keys()).toHaveLength(5);
  });

  it('forbidden keys in loaded data are ignored: not listed, not readable, not written back', () => {
    const loaded = JSON.parse(
      '{"__proto__":"{\\"polluted\\":true}","constructor":"1","prototype":"2","ok":"3"}',
    ) as Record<string, string>;
    const tracker = new ChangeTracker(loaded);
    expect(tracker.keys()).toEqual(['ok']);
    for (const key of FORBIDDEN) {
      expect(tracker.has(key)).toBe(false);
    }
    expect(tracker.get('__proto__')).toBeUndefined();
    expect(Object.keys(tracker.snapshot())).toEqual(['ok']);
    expect(Object.prototype).not.toHaveProperty('polluted');
  });
});
