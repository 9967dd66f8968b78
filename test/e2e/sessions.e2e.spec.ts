import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { SessionService } from '../../lib/session.service.js';
import { cookiePair, idOf } from '../support/cookies.js';
import type { CountingStore } from '../support/counting.store.js';
import {
  logIn,
  PLATFORMS,
  startSampleApp,
  type SampleAppHarness,
} from '../support/sample-app.harness.js';

interface Listed {
  handle: string;
  createdAt: string;
  lastSeenAt: string;
  current: boolean;
  kind: 'cookie' | 'token';
}

/** Rule 8: per-user listing with opaque handles, revoking one's own sessions, logging out everywhere. */
describe.each(PLATFORMS)('GET/DELETE /sessions (%s)', (platform) => {
  let h: SampleAppHarness<CountingStore>;
  let http: string;

  beforeAll(async () => {
    h = await startSampleApp(platform);
    http = h.http;
  });
  afterAll(async () => {
    await h?.close();
  });
  beforeEach(async () => {
    // each test starts with no live sessions for the demo users
    const service = h.app.get(SessionService);
    await service.revokeAllForUser('alice');
    await service.revokeAllForUser('admin');
  });

  const list = async (cookie: string) => {
    const res = await request(http).get('/sessions').set('Cookie', cookie);
    expect(res.status).toBe(200);
    return res.body as Listed[];
  };

  it("lists the user's sessions by handle, never by ID, with a current flag", async () => {
    const before = Date.now();
    const laptop = await logIn(http, 'alice');
    const phone = await logIn(http, 'alice');
    await logIn(http, 'admin'); // someone else's: not listed
    await request(http).get('/'); // an anonymous session: not listed

    const fromPhone = await list(phone);
    expect(fromPhone).toHaveLength(2);
    for (const entry of fromPhone) {
      expect(Object.keys(entry).sort()).toEqual([
        'createdAt',
        'current',
        'handle',
        'kind',
        'lastSeenAt',
      ]);
      expect(entry.kind).toBe('cookie');
      expect(typeof entry.handle).toBe('string');
      expect(entry.handle.length).toBeGreaterThanOrEqual(16);
      expect(Date.parse(entry.createdAt)).toBeGreaterThanOrEqual(before - 1000);
      expect(new Date(entry.createdAt).toISOString()).toBe(entry.createdAt);
      expect(Date.parse(entry.lastSeenAt)).toBeGreaterThanOrEqual(Date.parse(entry.createdAt));
    }
    expect(fromPhone.filter((e) => e.current)).toHaveLength(1);
    expect(new Set(fromPhone.map((e) => e.handle)).size).toBe(2);

    // the listing holds no session ID, nor any part of a cookie
    const text = JSON.stringify(fromPhone);
    for (const cookie of [laptop, phone]) {
      expect(text).not.toContain(idOf(cookie));
      expect(text).not.toContain(cookie.split('.')[1]);
    }

    // each session sees itself as the current one
    const fromLaptop = await list(laptop);
    const laptopHandle = fromLaptop.find((e) => e.current)!.handle;
    const phoneHandle = fromPhone.find((e) => e.current)!.handle;
    expect(laptopHandle).not.toBe(phoneHandle);
    expect(fromPhone.find((e) => e.handle === laptopHandle)!.current).toBe(false);
  });

  it('a handle does not work as a session cookie', async () => {
    const cookie = await logIn(http, 'alice');
    const [entry] = await list(cookie);
    const res = await request(http).get('/me').set('Cookie', `sid=${entry.handle}`);
    expect(res.status).toBe(401);
  });

  it("revoking someone else's handle answers 404 and leaves that session alone", async () => {
    const alice = await logIn(http, 'alice');
    const admin = await logIn(http, 'admin');
    const adminHandle = (await list(admin))[0].handle;

    const res = await request(http).delete(`/sessions/${adminHandle}`).set('Cookie', alice);
    expect(res.status).toBe(404);
    expect(res.body.statusCode).toBe(404);
    expect((await request(http).get('/me').set('Cookie', admin)).status).toBe(200);
    expect(await list(admin)).toHaveLength(1);

    for (const handle of [
      'unknown',
      'x'.repeat(90),
      '__proto__',
      encodeURIComponent('../../etc'),
    ]) {
      expect((await request(http).delete(`/sessions/${handle}`).set('Cookie', alice)).status).toBe(
        404,
      );
    }
  });

  it("revoking one of one's own other sessions: 200, it answers 401 revoked, the listing shrinks", async () => {
    const laptop = await logIn(http, 'alice');
    const phone = await logIn(http, 'alice');
    const laptopHandle = (await list(laptop)).find((e) => e.current)!.handle;

    const res = await request(http).delete(`/sessions/${laptopHandle}`).set('Cookie', phone);
    expect(res.status).toBe(200);
    const gone = await request(http).get('/me').set('Cookie', laptop);
    expect(gone.status).toBe(401);
    expect(gone.body.reason).toBe('revoked');
    const remaining = await list(phone);
    expect(remaining).toHaveLength(1);
    expect(remaining[0].current).toBe(true);
  });

  it('revoking the current session by its handle ends it too', async () => {
    const cookie = await logIn(http, 'alice');
    const own = (await list(cookie))[0].handle;
    expect((await request(http).delete(`/sessions/${own}`).set('Cookie', cookie)).status).toBe(200);
    const after = await request(http).get('/me').set('Cookie', cookie);
    expect(after.status).toBe(401);
    expect(after.body.reason).toBe('revoked');
  });

  it('DELETE /sessions logs out everywhere and answers how many were ended', async () => {
    const cookies = [
      await logIn(http, 'alice'),
      await logIn(http, 'alice'),
      await logIn(http, 'alice'),
    ];
    const admin = await logIn(http, 'admin');
    const res = await request(http).delete('/sessions').set('Cookie', cookies[0]);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ revoked: 3 });
    for (const cookie of cookies)
      expect((await request(http).get('/me').set('Cookie', cookie)).status).toBe(401);
    expect(await h.app.get(SessionService).listForUser('alice')).toEqual([]);
    expect((await request(http).get('/me').set('Cookie', admin)).status).toBe(200);

    // logging in again afterwards works normally
    const again = await logIn(http, 'alice');
    expect(await list(again)).toHaveLength(1);
  });

  it('a rotated session keeps its handle and stays listed once', async () => {
    const cookie = await logIn(http, 'alice');
    const [before] = await list(cookie);
    const rotated = cookiePair(await request(http).post('/auth/promote').set('Cookie', cookie));
    const after = await list(rotated);
    expect(after).toHaveLength(1);
    expect(after[0].handle).toBe(before.handle);
    expect(after[0].createdAt).toBe(before.createdAt);
  });
});
