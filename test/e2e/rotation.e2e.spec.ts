import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import type { SessionStore } from '../../lib/stores/session-store.interface.js';
import { CookieSigner } from '../../lib/cookie/cookie.signer.js';
import { sessionStoreKey } from '../../lib/session/session-id.js';
import { cookiePair, idOf, mintsCookie, sessionCookie, setCookies } from '../support/cookies.js';
import type { CountingStore } from '../support/counting.store.js';
import {
  logIn,
  newTestStore,
  PLATFORMS,
  startSampleApp,
  TEST_SECRET,
  type SampleAppHarness,
} from '../support/sample-app.harness.js';

const randomId = () => randomBytes(32).toString('base64url');

interface Listed {
  handle: string;
  current: boolean;
}
const currentHandle = async (http: string, cookie: string) =>
  ((await request(http).get('/sessions').set('Cookie', cookie)).body as Listed[]).find(
    (s) => s.current,
  )!.handle;

/** Rules 1, 2 and 4: IDs, never adopting a client's ID, rotation on log-in, privilege change and logout. */
describe.each(PLATFORMS)('IDs, fixation and rotation (%s)', (platform) => {
  let h: SampleAppHarness<CountingStore>;
  let http: string;

  beforeAll(async () => {
    h = await startSampleApp(platform);
    http = h.http;
  });
  afterAll(async () => {
    await h?.close();
  });

  describe('IDs (rule 1)', () => {
    it('the cookie carries id.signature: 256-bit base64url ID, HMAC-SHA256 base64url signature', async () => {
      const pair = cookiePair(await request(http).get('/'));
      const value = pair.slice('sid='.length);
      expect(value).toMatch(/^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(idOf(value), 'base64url')).toHaveLength(32);
      expect(new CookieSigner([TEST_SECRET]).sign(idOf(value))).toBe(value);
    });

    it('the store is keyed by the SHA-256 of the ID and never holds the ID itself', async () => {
      const pair = await logIn(http);
      const id = idOf(pair);
      const record = await h.store.inner.get(sessionStoreKey(id));
      expect(record).not.toBeNull();
      expect(record!.userId).toBe('alice');
      expect(await h.store.inner.get(id)).toBeNull();
      expect(JSON.stringify(record)).not.toContain(id);
      expect(JSON.stringify(await h.store.inner.listForUser('alice'))).not.toContain(id);
    });
  });

  describe('fixation defence (rules 2 and 4)', () => {
    it('a pre-login cookie stops working after log-in, and pre-login data is dropped', async () => {
      const anonymous = cookiePair(await request(http).get('/'));
      expect((await request(http).get('/').set('Cookie', anonymous)).body).toEqual({ views: 2 });

      const login = await request(http)
        .post('/auth/login')
        .set('Cookie', anonymous)
        .send({ username: 'alice', password: 'alice-password' });
      expect(login.status).toBe(200);
      const authenticated = cookiePair(login);
      expect(idOf(authenticated)).not.toBe(idOf(anonymous));
      expect(await h.store.inner.get(sessionStoreKey(idOf(anonymous)))).toBeNull();

      // the old (pre-login) cookie is dead at once
      const oldMe = await request(http).get('/me').set('Cookie', anonymous);
      expect(oldMe.status).toBe(401);
      expect(oldMe.body.reason).toBe('no_session');
      // ... and is never adopted: writing with it starts a brand-new session under a new ID
      const oldHome = await request(http).get('/').set('Cookie', anonymous);
      expect(oldHome.body).toEqual({ views: 1 });
      expect(idOf(cookiePair(oldHome))).not.toBe(idOf(anonymous));

      // the new session is logged in and starts clean: `views` did not survive
      expect((await request(http).get('/me').set('Cookie', authenticated)).body.userId).toBe(
        'alice',
      );
      expect((await request(http).get('/').set('Cookie', authenticated)).body).toEqual({
        views: 1,
      });
    });

    it('logging in again (as someone else) rotates again and kills the previous cookie', async () => {
      const asAlice = await logIn(http, 'alice');
      const asAdmin = await logIn(http, 'admin', asAlice);
      expect(idOf(asAdmin)).not.toBe(idOf(asAlice));
      expect((await request(http).get('/me').set('Cookie', asAlice)).status).toBe(401);
      expect((await request(http).get('/me').set('Cookie', asAdmin)).body.userId).toBe('admin');
    });

    it('a failed log-in neither rotates nor logs out the existing session', async () => {
      const cookie = await logIn(http, 'alice');
      const bad = await request(http)
        .post('/auth/login')
        .set('Cookie', cookie)
        .send({ username: 'admin', password: 'nope' });
      expect(bad.status).toBe(401);
      expect(mintsCookie(bad)).toBe(false);
      expect((await request(http).get('/me').set('Cookie', cookie)).body.userId).toBe('alice');
    });
  });

  describe('privilege change (POST /auth/promote)', () => {
    it('rotates the ID, the old cookie dies at once, data and handle are kept', async () => {
      const cookie = await logIn(http);
      await request(http).put('/prefs/theme').set('Cookie', cookie).send({ value: 'dark' });
      const handle = await currentHandle(http, cookie);

      const promoted = await request(http).post('/auth/promote').set('Cookie', cookie);
      expect(promoted.status).toBe(200);
      const rotated = cookiePair(promoted);
      expect(idOf(rotated)).not.toBe(idOf(cookie));

      const old = await request(http).get('/me').set('Cookie', cookie);
      expect(old.status).toBe(401);
      expect(old.body.reason).toBe('no_session');
      await expectNoSessionLeft(h.store.inner, cookie);

      expect((await request(http).get('/me').set('Cookie', rotated)).body.roles).toEqual([
        'user',
        'editor',
      ]);
      expect((await request(http).get('/prefs').set('Cookie', rotated)).body).toEqual({
        theme: 'dark',
      });
      expect(await currentHandle(http, rotated)).toBe(handle);

      // already an editor: the route regenerates the ID; it still rotates
      const again = await request(http).post('/auth/promote').set('Cookie', rotated);
      expect(again.status).toBe(200);
      const third = cookiePair(again);
      expect(idOf(third)).not.toBe(idOf(rotated));
      expect((await request(http).get('/me').set('Cookie', rotated)).status).toBe(401);
      expect((await request(http).get('/prefs').set('Cookie', third)).body).toEqual({
        theme: 'dark',
      });
    });
  });

  describe('logout', () => {
    it('clears the cookie and the old cookie is dead, also for writes', async () => {
      const cookie = await logIn(http);
      const out = await request(http).post('/auth/logout').set('Cookie', cookie);
      expect(out.status).toBe(200);
      const cleared = sessionCookie(out)!;
      expect(cleared.cleared).toBe(true);
      expect(cleared.attributes.path).toBe('/');
      await expectNoSessionLeft(h.store.inner, cookie);

      expect((await request(http).get('/me').set('Cookie', cookie)).status).toBe(401);
      expect(
        (await request(http).put('/prefs/x').set('Cookie', cookie).send({ value: 1 })).status,
      ).toBe(401);
      const home = await request(http).get('/').set('Cookie', cookie);
      expect(home.body).toEqual({ views: 1 });
      expect(idOf(cookiePair(home))).not.toBe(idOf(cookie));
      // logging out twice is harmless
      expect((await request(http).post('/auth/logout').set('Cookie', cookie)).status).toBe(200);
    });
  });

  describe('attacker-chosen IDs (rule 2) and lazy creation (rule 3)', () => {
    const forgedUnsigned = () => `sid=${randomId()}.${randomId()}`;
    const forgedSigned = () => `sid=${new CookieSigner([TEST_SECRET]).sign(randomId())}`;

    it.each([
      ['validly shaped, badly signed', forgedUnsigned],
      ['validly signed, unknown to the store', forgedSigned],
    ])('an ID that is %s is never adopted', async (_name, forge) => {
      const cookie = forge();
      const me = await request(http).get('/me').set('Cookie', cookie);
      expect(me.status).toBe(401);
      expect(me.body.reason).toBe('no_session');
      expect(mintsCookie(me)).toBe(false);

      const home = await request(http).get('/').set('Cookie', cookie);
      expect(home.body).toEqual({ views: 1 });
      expect(idOf(cookiePair(home))).not.toBe(idOf(cookie));

      const login = await request(http)
        .post('/auth/login')
        .set('Cookie', cookie)
        .send({ username: 'alice', password: 'alice-password' });
      expect(login.status).toBe(200);
      expect(idOf(cookiePair(login))).not.toBe(idOf(cookie));
      // the attacker's cookie still names nothing
      expect((await request(http).get('/me').set('Cookie', cookie)).status).toBe(401);
      await expectNoSessionLeft(h.store.inner, cookie);
    });

    it.each([
      ['GET', '/me'],
      ['GET', '/health'],
      ['GET', '/admin'],
      ['GET', '/prefs'],
      ['GET', '/sessions'],
      ['POST', '/auth/logout'],
      ['POST', '/auth/promote'],
    ])(
      'a read-only visit (%s %s) without a cookie gets no cookie and costs no store call',
      async (method, path) => {
        h.store.reset();
        const res =
          method === 'GET' ? await request(http).get(path) : await request(http).post(path);
        expect(res.status).toBeLessThan(500);
        expect(setCookies(res)).toEqual([]);
        expect(h.store.total()).toBe(0);
      },
    );

    it('a read-only visit with a forged cookie mints no cookie (at most clears it) and writes nothing', async () => {
      h.store.reset();
      for (const cookie of [forgedUnsigned(), forgedSigned()]) {
        const res = await request(http).get('/me').set('Cookie', cookie);
        expect(res.status).toBe(401);
        expect(mintsCookie(res)).toBe(false);
      }
      expect(h.store.writes()).toBe(0);
    });
  });
});

/** Rule 1: secret rotation. A cookie signed with a retired secret still works and is re-signed. */
describe.each(PLATFORMS)('secret rotation (%s)', (platform) => {
  const OLD = 'old-secret-old-secret-old-secret-0001';
  const NEW = 'new-secret-new-secret-new-secret-0002';
  let store: CountingStore;
  let before: SampleAppHarness<CountingStore>;
  let after: SampleAppHarness<CountingStore>;
  let retired: SampleAppHarness<CountingStore>;

  beforeAll(async () => {
    store = await newTestStore();
    // three deployments sharing one store: before the rotation, during it, and after the old secret is dropped
    before = await startSampleApp(platform, { store, env: { SESSION_SECRET: OLD } });
    after = await startSampleApp(platform, { store, env: { SESSION_SECRET: `${NEW},${OLD}` } });
    retired = await startSampleApp(platform, { store, env: { SESSION_SECRET: NEW } });
  });
  afterAll(async () => {
    await before?.close();
    await after?.close();
    await retired?.close();
    await store?.close();
  });

  it('keeps sessions signed with the old secret and re-issues their cookie signed with the new one', async () => {
    const oldCookie = await logIn(before.http, 'alice');
    const res = await request(after.http).get('/me').set('Cookie', oldCookie);
    expect(res.status).toBe(200);
    expect(res.body.userId).toBe('alice');
    const resigned = cookiePair(res);
    expect(idOf(resigned)).toBe(idOf(oldCookie)); // same session, same ID
    expect(resigned).toBe(`sid=${new CookieSigner([NEW]).sign(idOf(oldCookie))}`);
    // the re-signed cookie works after the old secret is retired; the old one no longer does
    expect((await request(retired.http).get('/me').set('Cookie', resigned)).status).toBe(200);
    expect((await request(retired.http).get('/me').set('Cookie', oldCookie)).status).toBe(401);
    // a cookie signed with the current secret is not re-issued
    const fresh = await request(after.http).get('/me').set('Cookie', resigned);
    expect(fresh.status).toBe(200);
    expect(setCookies(fresh)).toEqual([]);
  });

  it('new cookies are signed with the first secret of the list', async () => {
    const cookie = await logIn(after.http, 'alice');
    expect(cookie).toBe(`sid=${new CookieSigner([NEW]).sign(idOf(cookie))}`);
    expect((await request(before.http).get('/me').set('Cookie', cookie)).status).toBe(401);
  });
});

/**
 * After a privilege rotation the old key holds nothing a request could load:
 * at most the short-lived forward for requests already in flight (no user,
 * no data, not loadable; see RotateOptions.forwardMs).
 */
async function expectNoSessionLeft(store: SessionStore, cookie: string): Promise<void> {
  const left = await store.get(sessionStoreKey(idOf(cookie)));
  if (left === null) return;
  expect(left.movedTo).toBeDefined();
  expect(left.readableUntil).toBeUndefined();
  expect(left.userId).toBeUndefined();
  expect(left.data).toEqual({});
}
