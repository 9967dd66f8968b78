import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import type { SessionEvent } from '../../lib/events/session-event.js';
import { CookieSigner } from '../../lib/cookie/cookie.signer.js';
import { sessionStoreKey } from '../../lib/session/session-id.js';
import { cookiePair, idOf, parseSetCookie, setCookies } from '../support/cookies.js';
import type { CountingStore } from '../support/counting.store.js';
import {
  logIn,
  newTestStore,
  PASSWORDS,
  PLATFORMS,
  startSampleApp,
  subscribeSessionEvents,
  TEST_SECRET,
  type SampleAppHarness,
} from '../support/sample-app.harness.js';

/** The limit the apps run with (SESSION_MAX_ID_FAILURES). */
const LIMIT = 6;

/** Well-formed, but signed with a key nobody has: unverifiable. */
const badlySigned = () =>
  `sid=${randomBytes(32).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
/** Not even shaped like a signed ID: unverifiable. */
const malformed = () => `sid=${randomBytes(12).toString('hex')}`;
/** One of the two kinds of unverifiable cookie, alternating. */
const unverifiable = (i: number) => (i % 2 === 0 ? badlySigned() : malformed());
/**
 * Correctly signed, but no such session: exactly what a user returning after
 * the idle timeout carries (the store has forgotten the session). Never a guess.
 */
const unknownId = () =>
  `sid=${new CookieSigner([TEST_SECRET]).sign(randomBytes(32).toString('base64url'))}`;

/** A client address of its own for each test, so counts never carry over between tests. */
let clients = 0;
const newClient = () => `203.0.113.${++clients}`;

/**
 * Issue 4 item 6, as amended by item 5: the guessing defence answers 429 to a
 * client that presents many UNVERIFIABLE session IDs (bad signature or
 * malformed). A well-signed ID the store does not know is what every user
 * returning after the idle timeout carries: it never counts and never gets a
 * 429. A log-in always proceeds, on a fresh session.
 */
describe.each(PLATFORMS)('guessing defence (%s)', (platform) => {
  let store: CountingStore;
  let a: SampleAppHarness<CountingStore>;
  let b: SampleAppHarness<CountingStore>;
  const events: SessionEvent[] = [];

  beforeAll(async () => {
    // Two deployments on one store: the failure count is the store's, so it holds across both.
    store = await newTestStore();
    const env = { SESSION_MAX_ID_FAILURES: String(LIMIT), TRUST_PROXY: '1' };
    a = await startSampleApp(platform, { store, env });
    b = await startSampleApp(platform, { store, env });
    subscribeSessionEvents(a, (e) => events.push(e));
    subscribeSessionEvents(b, (e) => events.push(e));
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await store?.close();
  });
  beforeEach(() => {
    events.length = 0;
  });

  const me = (http: string, cookie: string, client: string) =>
    request(http).get('/me').set('Cookie', cookie).set('X-Forwarded-For', client);

  /** Blocks `client`: LIMIT unverifiable cookies (401 each, alternating instances), then a 429. */
  async function block(client: string) {
    for (let i = 0; i < LIMIT; i++) {
      const res = await me(i % 2 === 0 ? a.http : b.http, unverifiable(i), client);
      expect({ i, status: res.status, reason: res.body.reason }).toEqual({
        i,
        status: 401,
        reason: 'no_session',
      });
    }
    const blocked = await me(b.http, badlySigned(), client);
    expect(blocked.status).toBe(429);
  }

  /** A real session whose record the store then forgets (as after the idle timeout): a stale cookie. */
  async function staleCookie(): Promise<string> {
    const cookie = await logIn(a.http, 'alice');
    expect((await request(a.http).get('/me').set('Cookie', cookie)).status).toBe(200);
    await store.inner.destroy(sessionStoreKey(idOf(cookie)));
    return cookie;
  }

  it('counts unverifiable IDs per client across instances, then answers 429; valid sessions, cookie-less visitors and other clients are unaffected', async () => {
    const client = newClient();
    const valid = await logIn(a.http, 'alice');
    await block(client);
    const tripped = events.filter((e) => e.type === 'rejected' && e.reason === 'brute_force');
    expect(tripped).toEqual([expect.objectContaining({ ip: client })]);

    // A valid session from the same address is never refused, nor a visitor without a cookie.
    const ok = await me(a.http, valid, client);
    expect(ok.status).toBe(200);
    expect(ok.body.userId).toBe('alice');
    const home = await request(a.http).get('/').set('X-Forwarded-For', client);
    expect(home.status).toBe(200);

    // Another client (behind the one trusted proxy) is not affected.
    const other = await me(a.http, badlySigned(), newClient());
    expect(other.status).toBe(401);
    expect(other.body.reason).toBe('no_session');
  });

  it('(a) well-signed unknown IDs never count: each answers 401 no_session, and only unverifiable ones past the limit get 429', async () => {
    const client = newClient();
    const statuses: string[] = [];
    for (let i = 0; i < 3 * LIMIT; i++) {
      const res = await me(i % 2 === 0 ? a.http : b.http, unknownId(), client);
      statuses.push(`${res.status} ${res.body.reason}`);
    }
    expect(statuses).toEqual(Array(3 * LIMIT).fill('401 no_session'));
    expect(events.filter((e) => e.type === 'rejected' && e.reason === 'brute_force')).toHaveLength(
      0,
    );

    // The unknown IDs above left the count at zero: the limit still has all its room.
    for (let i = 0; i < LIMIT; i++) {
      const res = await me(i % 2 === 0 ? b.http : a.http, unverifiable(i), client);
      expect({ i, status: res.status, reason: res.body.reason }).toEqual({
        i,
        status: 401,
        reason: 'no_session',
      });
    }
    const blocked = await me(a.http, badlySigned(), client);
    expect(blocked.status).toBe(429);
    expect(blocked.body.reason).toBe('too_many_invalid_sessions');
  });

  it('(b) a returning user with a stale (well-signed) cookie from a blocked address gets 401 no_session, and can log in with it', async () => {
    const client = newClient();
    const stale = await staleCookie();
    await block(client);

    const res = await me(a.http, stale, client);
    expect(res.status).toBe(401);
    expect(res.body.reason).toBe('no_session');
    // ... on every instance, however often
    for (const http of [b.http, a.http, b.http]) {
      const again = await me(http, stale, client);
      expect(`${again.status} ${again.body.reason}`).toBe('401 no_session');
    }

    const login = await request(b.http)
      .post('/auth/login')
      .set('Cookie', stale)
      .set('X-Forwarded-For', client)
      .send({ username: 'alice', password: PASSWORDS.alice });
    expect(login.status).toBe(200);
    expect(login.body.userId).toBe('alice');
    const fresh = cookiePair(login);
    expect(idOf(fresh)).not.toBe(idOf(stale));
    const after = await me(a.http, fresh, client);
    expect(after.status).toBe(200);
    expect(after.body.userId).toBe('alice');
  });

  it('(c) a log-in with the right password and a garbage cookie from a blocked address proceeds on a fresh session', async () => {
    const client = newClient();
    await block(client);
    for (const garbage of [badlySigned(), malformed()]) {
      const login = await request(a.http)
        .post('/auth/login')
        .set('Cookie', garbage)
        .set('X-Forwarded-For', client)
        .send({ username: 'alice', password: PASSWORDS.alice });
      expect(login.status).toBe(200);
      expect(login.body).toEqual({ userId: 'alice', roles: ['user'] });
      const fresh = cookiePair(login);
      expect(idOf(fresh)).not.toBe(idOf(garbage));
      const after = await me(b.http, fresh, client);
      expect(after.status).toBe(200);
      expect(after.body.userId).toBe('alice');
    }
  });

  it('(d) a 429 carries reason too_many_invalid_sessions, Retry-After and a Set-Cookie that clears the session cookie', async () => {
    const client = newClient();
    await block(client);
    for (const http of [a.http, b.http]) {
      const res = await me(http, badlySigned(), client);
      expect(res.status).toBe(429);
      expect(res.body.reason).toBe('too_many_invalid_sessions');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      // exactly one Set-Cookie for sid, and it drops the cookie (Max-Age=0 or expired)
      const sid = setCookies(res)
        .map(parseSetCookie)
        .filter((c) => c.name === 'sid');
      expect(sid.map((c) => ({ cleared: c.cleared, raw: c.raw }))).toEqual([
        { cleared: true, raw: expect.any(String) },
      ]);
    }
  });

  it('believes only the trusted hop of X-Forwarded-For (client-written entries prove nothing)', async () => {
    const proxySeen = '192.0.2.44';
    for (let i = 0; i < LIMIT; i++) {
      // The client forges a different left-most entry each time; the proxy's entry stays the same.
      const forged = `10.0.0.${i}, ${proxySeen}`;
      const res = await me(a.http, unverifiable(i), forged);
      expect(res.status).toBe(401);
    }
    const res = await me(a.http, badlySigned(), `10.9.9.9, ${proxySeen}`);
    expect(res.status).toBe(429);
  });
});
