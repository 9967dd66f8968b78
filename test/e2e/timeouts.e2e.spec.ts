import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { cookiePair, idOf, mintsCookie, sessionCookie } from '../support/cookies.js';
import type { CountingStore } from '../support/counting.store.js';
import {
  logIn,
  PLATFORMS,
  sleep,
  startSampleApp,
  type SampleAppHarness,
} from '../support/sample-app.harness.js';

const IDLE_MS = 1200;
const ABSOLUTE_MS = 2400;

interface Listed {
  handle: string;
  current: boolean;
}

/**
 * Rule 5 with real, short timers (SESSION_IDLE_TIMEOUT_MS / SESSION_ABSOLUTE_TIMEOUT_MS
 * as the sample reads them), and revocation from another session.
 */
describe.each(PLATFORMS)('timeouts and revocation (%s)', (platform) => {
  let h: SampleAppHarness<CountingStore>;
  let http: string;

  beforeAll(async () => {
    h = await startSampleApp(platform, {
      env: {
        SESSION_IDLE_TIMEOUT_MS: String(IDLE_MS),
        SESSION_ABSOLUTE_TIMEOUT_MS: String(ABSOLUTE_MS),
      },
    });
    http = h.http;
  });
  afterAll(async () => {
    await h?.close();
  });

  const me = (cookie: string) => request(http).get('/me').set('Cookie', cookie);

  it('the cookie lives until the absolute timeout', async () => {
    const res = await request(http)
      .post('/auth/login')
      .send({ username: 'alice', password: 'alice-password' });
    expect(sessionCookie(res)!.maxAge).toBe(Math.floor(ABSOLUTE_MS / 1000));
  });

  it('an idle session ends: 401 idle_timeout (every time), the cookie is cleared, the ID never comes back', async () => {
    const cookie = await logIn(http);
    await request(http).put('/prefs/theme').set('Cookie', cookie).send({ value: 'dark' });
    expect((await me(cookie)).status).toBe(200);
    await sleep(IDLE_MS + 150);

    const first = await me(cookie);
    expect(first.status).toBe(401);
    expect(first.body).toMatchObject({ statusCode: 401, reason: 'idle_timeout' });
    expect(sessionCookie(first)?.cleared).toBe(true);
    // the reason is stable, not a one-off
    expect((await me(cookie)).body.reason).toBe('idle_timeout');
    expect((await request(http).get('/prefs').set('Cookie', cookie)).body.reason).toBe(
      'idle_timeout',
    );
    // a write with the ended cookie starts a new, empty session under a new ID
    const home = await request(http).get('/').set('Cookie', cookie);
    expect(home.body).toEqual({ views: 1 });
    expect(idOf(cookiePair(home))).not.toBe(idOf(cookie));
    // an ended session is not listed any more
    const fresh = await logIn(http);
    const listed = (await request(http).get('/sessions').set('Cookie', fresh)).body as Listed[];
    expect(listed.filter((s) => !s.current)).toEqual([]);
  });

  it('activity slides the idle timeout; the absolute timeout ends the session however active', async () => {
    const cookie = await logIn(http);
    const started = Date.now();
    // a request every ~400 ms (a third of the idle timeout): alive well past IDLE_MS
    while (Date.now() - started < ABSOLUTE_MS - 900) {
      await sleep(400);
      const res = await me(cookie);
      expect(res.status).toBe(200);
    }
    expect(Date.now() - started).toBeGreaterThan(IDLE_MS + 250);

    await sleep(Math.max(0, started + ABSOLUTE_MS + 100 - Date.now()));
    const ended = await me(cookie);
    expect(ended.status).toBe(401);
    expect(ended.body.reason).toBe('absolute_timeout');
    expect(sessionCookie(ended)?.cleared).toBe(true);
  });

  it('DELETE /sessions/:handle from another session revokes it: 401 revoked', async () => {
    const laptop = await logIn(http, 'admin');
    const phone = await logIn(http, 'admin');
    const list = (await request(http).get('/sessions').set('Cookie', phone)).body as Listed[];
    const laptopHandle = list.find((s) => !s.current)!.handle;
    const res = await request(http).delete(`/sessions/${laptopHandle}`).set('Cookie', phone);
    expect(res.status).toBe(200);

    const revoked = await me(laptop);
    expect(revoked.status).toBe(401);
    expect(revoked.body.reason).toBe('revoked');
    expect(sessionCookie(revoked)?.cleared).toBe(true);
    expect((await me(laptop)).body.reason).toBe('revoked');
    // a write cannot bring it back
    const write = await request(http).put('/prefs/x').set('Cookie', laptop).send({ value: 1 });
    expect(write.status).toBe(401);
    expect((await me(phone)).status).toBe(200);
    // revoking it again: it is no longer the user's live session
    expect(
      (await request(http).delete(`/sessions/${laptopHandle}`).set('Cookie', phone)).status,
    ).toBe(404);
    await request(http).delete('/sessions').set('Cookie', phone);
  });

  it('DELETE /sessions logs the user out everywhere: the others answer revoked, this one is gone', async () => {
    const a = await logIn(http, 'admin');
    const b = await logIn(http, 'admin');
    const c = await logIn(http, 'admin');
    const other = await logIn(http, 'alice');
    const res = await request(http).delete('/sessions').set('Cookie', c);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ revoked: 3 });
    expect(sessionCookie(res)?.cleared).toBe(true);
    expect(mintsCookie(res)).toBe(false);
    for (const cookie of [a, b]) {
      const r = await me(cookie);
      expect(r.status).toBe(401);
      expect(r.body.reason).toBe('revoked');
    }
    const self = await me(c);
    expect(self.status).toBe(401);
    expect(self.body.reason).toBe('no_session');
    // another user's session is untouched
    expect((await me(other)).status).toBe(200);
  });
});
