import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { cookiePair } from '../support/cookies.js';
import type { CountingStore } from '../support/counting.store.js';
import {
  logIn,
  PLATFORMS,
  startSampleApp,
  type SampleAppHarness,
} from '../support/sample-app.harness.js';

const ALLOWED = 'https://app.example.com';

/**
 * Issue 4 item 1 over both platforms: POST /transfer is behind SessionGuard
 * and CsrfGuard. The session's token (GET /csrf) in `x-csrf-token` passes;
 * anything cross-site, a foreign or `null` Origin, a missing token, another
 * session's token or a pre-login token is 403 `reason: "csrf"`.
 */
describe.each(PLATFORMS)('CSRF (%s)', (platform) => {
  let h: SampleAppHarness<CountingStore>;
  let http: string;

  beforeAll(async () => {
    h = await startSampleApp(platform, { env: { CSRF_ALLOWED_ORIGINS: ALLOWED } });
    http = h.http;
  });
  afterAll(async () => {
    await h?.close();
  });

  const tokenOf = async (cookie: string) => {
    const res = await request(http).get('/csrf').set('Cookie', cookie);
    expect(res.status).toBe(200);
    expect(res.body.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    return res.body.token as string;
  };
  const transfer = (cookie: string, headers: Record<string, string> = {}) =>
    request(http).post('/transfer').set('Cookie', cookie).set(headers).send({ amount: 5 });
  const expectCsrfRefusal = (res: { status: number; body: { reason?: string } }) => {
    expect(res.status).toBe(403);
    expect(res.body.reason).toBe('csrf');
  };

  it('the token from GET /csrf works on POST /transfer, from the app’s own origin', async () => {
    const cookie = await logIn(http);
    const token = await tokenOf(cookie);
    const res = await transfer(cookie, {
      'x-csrf-token': token,
      origin: http,
      'sec-fetch-site': 'same-origin',
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true, amount: 5 });
    // the token is stable for the session
    expect(await tokenOf(cookie)).toBe(token);
  });

  it('without Origin and Fetch Metadata (curl, a server) the token alone decides', async () => {
    const cookie = await logIn(http);
    const token = await tokenOf(cookie);
    expect((await transfer(cookie, { 'x-csrf-token': token })).status).toBe(200);
    expectCsrfRefusal(await transfer(cookie));
  });

  it('a missing, empty, malformed or altered token is refused', async () => {
    const cookie = await logIn(http);
    const token = await tokenOf(cookie);
    const altered = token.slice(0, -2) + (token.at(-2) === 'A' ? 'B' : 'A') + token.at(-1);
    for (const bad of [
      '',
      'null',
      'x',
      token.slice(1),
      `${token}A`,
      altered,
      `${token},${token}`,
    ]) {
      expectCsrfRefusal(await transfer(cookie, { 'x-csrf-token': bad }));
    }
    expectCsrfRefusal(await transfer(cookie));
  });

  it('the token is read only from the x-csrf-token header, not the query or body', async () => {
    const cookie = await logIn(http);
    const token = await tokenOf(cookie);
    expectCsrfRefusal(
      await request(http)
        .post(`/transfer?csrf=${token}&_csrf=${token}&x-csrf-token=${token}`)
        .set('Cookie', cookie)
        .send({ amount: 5 }),
    );
    expectCsrfRefusal(
      await request(http)
        .post('/transfer')
        .set('Cookie', cookie)
        .send({ amount: 5, _csrf: token, csrf: token }),
    );
    expectCsrfRefusal(await transfer(cookie, { 'x-xsrf-token': token, 'csrf-token': token }));
  });

  it('the token of another session is refused', async () => {
    const mine = await logIn(http, 'alice');
    const theirs = await logIn(http, 'admin');
    const theirToken = await tokenOf(theirs);
    expectCsrfRefusal(await transfer(mine, { 'x-csrf-token': theirToken }));
    // ... and of another session of the same user
    const mySecond = await logIn(http, 'alice');
    expectCsrfRefusal(await transfer(mine, { 'x-csrf-token': await tokenOf(mySecond) }));
  });

  it('a pre-login token is refused after log-in (the CSRF secret is renewed)', async () => {
    const anonymous = await request(http).get('/csrf');
    const preLoginToken = anonymous.body.token as string;
    const anonymousCookie = cookiePair(anonymous);
    const cookie = await logIn(http, 'alice', anonymousCookie);
    expectCsrfRefusal(await transfer(cookie, { 'x-csrf-token': preLoginToken }));
    const fresh = await tokenOf(cookie);
    expect(fresh).not.toBe(preLoginToken);
    expect((await transfer(cookie, { 'x-csrf-token': fresh })).status).toBe(200);
  });

  it('Origin: null, a foreign Origin, or Sec-Fetch-Site: cross-site is refused even with the token', async () => {
    const cookie = await logIn(http);
    const token = await tokenOf(cookie);
    const cases: Record<string, string>[] = [
      { origin: 'null' },
      { origin: 'null', 'sec-fetch-site': 'same-origin' },
      { origin: 'https://evil.example' },
      { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'cross-site' },
      { origin: http, 'sec-fetch-site': 'cross-site' },
      // same-site but another origin, and not allow-listed
      { origin: 'http://127.0.0.1:1', 'sec-fetch-site': 'same-site' },
      // same-site without an Origin to check against the allow-list
      { 'sec-fetch-site': 'same-site' },
      // look-alikes of the allow-listed and of the app's own origin
      { origin: `${ALLOWED}.evil.example` },
      { origin: `${ALLOWED}:444` },
      { origin: ALLOWED.replace('https', 'http') },
      { origin: `${http}.evil.example` },
      { origin: `${http}@evil.example` },
    ];
    for (const headers of cases) {
      const res = await transfer(cookie, { ...headers, 'x-csrf-token': token });
      expect({ headers, status: res.status, reason: res.body.reason }).toEqual({
        headers,
        status: 403,
        reason: 'csrf',
      });
    }
    // the same token still works from a legitimate request
    expect((await transfer(cookie, { 'x-csrf-token': token })).status).toBe(200);
  });

  it('an allow-listed origin (CSRF_ALLOWED_ORIGINS) passes with the token, and only with it', async () => {
    const cookie = await logIn(http);
    const token = await tokenOf(cookie);
    const allowed: Record<string, string>[] = [
      { origin: ALLOWED },
      { origin: ALLOWED, 'sec-fetch-site': 'same-site' },
      { origin: ALLOWED.toUpperCase(), 'sec-fetch-site': 'same-site' },
      // an allow-listed front end on another site
      { origin: ALLOWED, 'sec-fetch-site': 'cross-site' },
    ];
    for (const headers of allowed) {
      const res = await transfer(cookie, { ...headers, 'x-csrf-token': token });
      expect({ headers, status: res.status }).toEqual({ headers, status: 200 });
    }
    expectCsrfRefusal(await transfer(cookie, { origin: ALLOWED }));
  });

  it('without a session, the session guard answers first (401), whatever the CSRF headers', async () => {
    const res = await request(http)
      .post('/transfer')
      .set({ origin: 'https://evil.example', 'x-csrf-token': 'A'.repeat(43) })
      .send({ amount: 5 });
    expect(res.status).toBe(401);
    expect(res.body.reason).toBe('no_session');
  });
});
