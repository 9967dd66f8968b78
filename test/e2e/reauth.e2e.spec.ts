import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { cookiePair, idOf } from '../support/cookies.js';
import type { CountingStore } from '../support/counting.store.js';
import {
  logIn,
  PASSWORDS,
  PLATFORMS,
  sleep,
  startSampleApp,
  type SampleAppHarness,
} from '../support/sample-app.harness.js';

const FRESH_WITHIN_MS = 800;

/**
 * Issue 4 item 2 over both platforms: GET /account/security is behind
 * `@RequireSession({ freshWithin })` (SESSION_FRESH_WITHIN_MS), answering 401
 * `reauth_required` once the last log-in is older; POST /auth/reauth with the
 * right password refreshes it and rotates the session ID.
 */
describe.each(PLATFORMS)('re-authentication (%s)', (platform) => {
  let h: SampleAppHarness<CountingStore>;
  let http: string;

  beforeAll(async () => {
    h = await startSampleApp(platform, {
      env: { SESSION_FRESH_WITHIN_MS: String(FRESH_WITHIN_MS) },
    });
    http = h.http;
  });
  afterAll(async () => {
    await h?.close();
  });

  const security = (cookie: string) => request(http).get('/account/security').set('Cookie', cookie);
  const reauth = (cookie: string, password: string) =>
    request(http).post('/auth/reauth').set('Cookie', cookie).send({ password });

  it('fresh after log-in, reauth_required once freshWithin passes, fresh again after POST /auth/reauth', async () => {
    const cookie = await logIn(http);
    const first = await security(cookie);
    expect(first.status).toBe(200);
    expect(first.body.userId).toBe('alice');
    const loggedInAt = Date.parse(first.body.authenticatedAt);

    await sleep(FRESH_WITHIN_MS + 150);
    const stale = await security(cookie);
    expect(stale.status).toBe(401);
    expect(stale.body.reason).toBe('reauth_required');
    // the session itself is alive: only the fresh-login requirement fails
    expect((await request(http).get('/me').set('Cookie', cookie)).status).toBe(200);

    // a wrong password: 401, nothing refreshed, no new cookie
    const wrong = await reauth(cookie, 'not-the-password');
    expect(wrong.status).toBe(401);
    expect(wrong.headers['set-cookie']).toBeUndefined();
    expect((await security(cookie)).body.reason).toBe('reauth_required');

    // the right password: 200, a new session ID, the old one dead at once
    const right = await reauth(cookie, PASSWORDS.alice);
    expect(right.status).toBe(200);
    const renewed = cookiePair(right);
    expect(idOf(renewed)).not.toBe(idOf(cookie));
    const again = await security(renewed);
    expect(again.status).toBe(200);
    expect(Date.parse(again.body.authenticatedAt)).toBeGreaterThan(loggedInAt + FRESH_WITHIN_MS);
    const old = await request(http).get('/me').set('Cookie', cookie);
    expect(old.status).toBe(401);
    expect(old.body.reason).toBe('no_session');
    // still the same user, and the session's data path is intact
    expect((await request(http).get('/me').set('Cookie', renewed)).body).toEqual({
      userId: 'alice',
      roles: ['user'],
    });

    // freshness runs out again after another freshWithin
    await sleep(FRESH_WITHIN_MS + 150);
    expect((await security(renewed)).body.reason).toBe('reauth_required');
  });

  it("another user's password does not re-authenticate", async () => {
    const cookie = await logIn(http, 'alice');
    const res = await reauth(cookie, PASSWORDS.admin);
    expect(res.status).toBe(401);
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('re-authentication needs a logged-in session (401 no_session)', async () => {
    const res = await request(http).post('/auth/reauth').send({ password: PASSWORDS.alice });
    expect(res.status).toBe(401);
    expect(res.body.reason).toBe('no_session');
    const anonymous = cookiePair(await request(http).get('/'));
    const withAnonymous = await reauth(anonymous, PASSWORDS.alice);
    expect(withAnonymous.status).toBe(401);
    expect(withAnonymous.body.reason).toBe('no_session');
  });

  it('without a session, /account/security is 401 no_session (not reauth_required)', async () => {
    const res = await request(http).get('/account/security');
    expect(res.status).toBe(401);
    expect(res.body.reason).toBe('no_session');
  });
});
