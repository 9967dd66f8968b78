import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { CookieSigner } from '../../lib/cookie/cookie.signer.js';
import { parseSetCookie, setCookies, type HasHeaders } from '../support/cookies.js';
import {
  logIn,
  PLATFORMS,
  startSampleApp,
  TEST_SECRET,
  type SampleAppHarness,
} from '../support/sample-app.harness.js';

/** Shaped like nothing the server signs. */
const garbage = () => `sid=${randomBytes(12).toString('hex')}`;
/** Well-formed `id.signature`, signed with a key nobody has. */
const badlySigned = () =>
  `sid=${randomBytes(32).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
/** Correctly signed (the attacker has an old cookie of their own, say), but no such session. */
const unknownId = () =>
  `sid=${new CookieSigner([TEST_SECRET]).sign(randomBytes(32).toString('base64url'))}`;

/** The Set-Cookie headers of a response that make the browser drop `sid`. */
const sidClears = (res: HasHeaders) =>
  setCookies(res)
    .map(parseSetCookie)
    .filter((c) => c.name === 'sid' && c.cleared)
    .map((c) => c.raw);

/**
 * Issue 4 item 7: a planted duplicate cookie. An attacker who can write a
 * cookie for the site (a sibling subdomain, an HTTP response on the same
 * host) plants `sid=<junk>` with a more specific Path or Domain, so the
 * browser sends it FIRST, before the victim's real `sid`. The server must
 * not read that as "no session": it would log the user out and, worse,
 * clear the real cookie. A value that does not verify is skipped for one
 * that does; only when none verifies is the request anonymous.
 */
describe.each(PLATFORMS)('planted duplicate session cookie (%s)', (platform) => {
  let app: SampleAppHarness;
  let valid: string;

  beforeAll(async () => {
    app = await startSampleApp(platform);
    valid = await logIn(app.http, 'alice');
  });
  afterAll(async () => {
    await app?.close();
  });

  const me = (cookie: string) => request(app.http).get('/me').set('Cookie', cookie);

  it.each([
    ['garbage', garbage],
    ['a badly signed ID', badlySigned],
    ['a well-signed unknown ID', unknownId],
  ] as const)(
    'sid=<%s>; sid=<valid>: GET /me answers 200 as the user, and no Set-Cookie clears sid',
    async (_name, planted) => {
      const cookies = [
        `${planted()}; ${valid}`,
        // among other cookies, and more than one planted value
        `theme=dark; ${planted()}; lang=fr; ${planted()}; ${valid}; x=1`,
      ];
      for (const cookie of cookies) {
        const res = await me(cookie);
        expect({ cookie, status: res.status, body: res.body, clears: sidClears(res) }).toEqual({
          cookie,
          status: 200,
          body: { userId: 'alice', roles: ['user'] },
          clears: [],
        });
      }
      // and the real cookie keeps working afterwards
      expect((await me(valid)).status).toBe(200);
    },
  );

  it('a write through the planted pair lands in the real session', async () => {
    const planted = `${garbage()}; ${valid}`;
    const put = await request(app.http)
      .put('/prefs/planted')
      .set('Cookie', planted)
      .send({ value: 'kept' });
    expect(put.status).toBe(200);
    expect(sidClears(put)).toEqual([]);
    const prefs = await request(app.http).get('/prefs').set('Cookie', valid);
    expect(prefs.status).toBe(200);
    expect(prefs.body).toMatchObject({ planted: 'kept' });
  });

  it('sid=<valid>; sid=<garbage>: the valid one still wins (control)', async () => {
    const res = await me(`${valid}; ${garbage()}`);
    expect(res.status).toBe(200);
    expect(res.body.userId).toBe('alice');
    expect(sidClears(res)).toEqual([]);
  });

  it('with only invalid values the request is anonymous: 401 no_session', async () => {
    for (const cookie of [
      `${garbage()}; ${badlySigned()}`,
      `${unknownId()}; ${garbage()}`,
      `${badlySigned()}; ${unknownId()}; ${unknownId()}`,
    ]) {
      const res = await me(cookie);
      expect({ cookie, status: res.status, reason: res.body.reason }).toEqual({
        cookie,
        status: 401,
        reason: 'no_session',
      });
    }
  });
});
