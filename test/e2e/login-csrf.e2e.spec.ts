import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { setCookies } from '../support/cookies.js';
import type { CountingStore } from '../support/counting.store.js';
import {
  logIn,
  PASSWORDS,
  PLATFORMS,
  startSampleApp,
  type SampleAppHarness,
} from '../support/sample-app.harness.js';

const ALLOWED = 'https://app.example.com';
const EVIL = 'https://evil.example';

interface Answer {
  status: number;
  body: { reason?: string; userId?: string };
  headers: Record<string, string | string[] | undefined>;
}

/**
 * Issue "Logout must stick", item 4: log-in CSRF. Nest parses urlencoded
 * bodies on both platforms, so without a check a cross-site HTML form that
 * posts the attacker's credentials to POST /auth/login logs the victim's
 * browser into the attacker's account. The sample puts `SameOriginGuard` on
 * its log-in routes: Fetch Metadata and Origin only (there is no session yet
 * to bind a token to), refusing with 403 `reason: "csrf"` before the handler
 * runs, so no cookie is ever set. Each test pairs what must pass with what
 * must be refused, so none passes on an app that checks nothing.
 */
describe.each(PLATFORMS)('log-in CSRF (%s)', (platform) => {
  let h: SampleAppHarness<CountingStore>;
  let http: string;

  beforeAll(async () => {
    h = await startSampleApp(platform, { env: { CSRF_ALLOWED_ORIGINS: ALLOWED } });
    http = h.http;
  });
  afterAll(async () => {
    await h?.close();
  });

  /** What an attacker's `<form method="post">` sends: urlencoded, no custom header. */
  const formLogin = (headers: Record<string, string>, username = 'alice', cookie?: string) => {
    const req = request(http)
      .post('/auth/login')
      .set(headers)
      .type('form')
      .send(`username=${username}&password=${PASSWORDS[username]}`);
    if (cookie) req.set('Cookie', cookie);
    return req;
  };
  const jsonLogin = (headers: Record<string, string>, username = 'alice') =>
    request(http)
      .post('/auth/login')
      .set(headers)
      .send({ username, password: PASSWORDS[username] });
  const expectRefused = (res: Answer) => {
    expect({ status: res.status, reason: res.body.reason }).toEqual({
      status: 403,
      reason: 'csrf',
    });
    expect(setCookies(res as never)).toEqual([]);
  };
  const expectLoggedIn = (res: Answer, userId = 'alice') => {
    expect(res.status).toBe(200);
    expect(res.body.userId).toBe(userId);
    expect(setCookies(res as never).some((c) => c.startsWith('sid='))).toBe(true);
  };

  it('a cross-site form post with valid credentials is refused (403 csrf, no Set-Cookie); the victim stays who they were', async () => {
    const victim = await logIn(http, 'admin');
    const res = await formLogin({ origin: EVIL, 'sec-fetch-site': 'cross-site' }, 'alice', victim);
    expectRefused(res);
    // the browser's session is still the victim's own, not the attacker's account
    const me = await request(http).get('/me').set('Cookie', victim);
    expect(me.status).toBe(200);
    expect(me.body.userId).toBe('admin');
  });

  it('refuses every cross-origin shape: null Origin, foreign Origin, cross-site or unlisted same-site', async () => {
    const cases: Record<string, string>[] = [
      // a sandboxed iframe, a data: URL or a cross-origin redirect sends Origin: null
      { origin: 'null' },
      { origin: 'null', 'sec-fetch-site': 'cross-site' },
      { origin: 'null', 'sec-fetch-site': 'same-origin' },
      // browsers without Fetch Metadata still send Origin on a POST
      { origin: EVIL },
      { 'sec-fetch-site': 'cross-site' },
      { origin: http, 'sec-fetch-site': 'cross-site' },
      { origin: 'http://127.0.0.1:1', 'sec-fetch-site': 'same-site' },
      { 'sec-fetch-site': 'same-site' },
      // look-alikes of the allow-listed and of the app's own origin
      { origin: `${ALLOWED}.evil.example` },
      { origin: ALLOWED.replace('https', 'http') },
      { origin: `${http}.evil.example` },
    ];
    h.store.reset();
    for (const headers of cases) {
      const res = await formLogin(headers);
      expect({ headers, status: res.status, reason: res.body.reason }).toEqual({
        headers,
        status: 403,
        reason: 'csrf',
      });
      expect(setCookies(res)).toEqual([]);
    }
    expectRefused(await jsonLogin({ origin: 'null' }));
    // refused before the handler: not one session was written
    expect(h.store.nonZero()).not.toHaveProperty('set');
  });

  it('a same-origin JSON log-in works, the same body from a foreign origin does not', async () => {
    expectLoggedIn(await jsonLogin({ origin: http, 'sec-fetch-site': 'same-origin' }));
    expectLoggedIn(await jsonLogin({ origin: http }));
    expectRefused(await jsonLogin({ origin: EVIL, 'sec-fetch-site': 'cross-site' }));
  });

  it('a log-in without Origin and Fetch Metadata (curl, a server) works; a foreign Origin alone does not', async () => {
    expectLoggedIn(await jsonLogin({}));
    // a form body is not the problem: who sent it is
    expectLoggedIn(await formLogin({}));
    expectLoggedIn(await formLogin({ 'sec-fetch-site': 'none' }));
    expectRefused(await formLogin({ origin: EVIL }));
  });

  it('an allow-listed origin (CSRF_ALLOWED_ORIGINS) may log in, also cross-site; a look-alike may not', async () => {
    const allowed: Record<string, string>[] = [
      { origin: ALLOWED },
      { origin: ALLOWED, 'sec-fetch-site': 'same-site' },
      { origin: ALLOWED.toUpperCase(), 'sec-fetch-site': 'cross-site' },
    ];
    for (const headers of allowed) {
      expectLoggedIn(await jsonLogin(headers));
    }
    expectRefused(await jsonLogin({ origin: `${ALLOWED}:444`, 'sec-fetch-site': 'same-site' }));
  });

  it('POST /auth/reauth (a password check that refreshes the log-in) has the same origin check', async () => {
    const cookie = await logIn(http);
    const reauth = (headers: Record<string, string>) =>
      request(http)
        .post('/auth/reauth')
        .set('Cookie', cookie)
        .set(headers)
        .type('form')
        .send(`password=${PASSWORDS.alice}`);
    const refused = await reauth({ origin: EVIL, 'sec-fetch-site': 'cross-site' });
    expectRefused(refused);
    expectRefused(await reauth({ origin: 'null' }));
    const same = await reauth({ origin: http, 'sec-fetch-site': 'same-origin' });
    expect(same.status).toBe(200);
    expect(same.body).toEqual({ ok: true });
  });
});
