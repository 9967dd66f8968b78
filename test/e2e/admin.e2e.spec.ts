import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { SessionService } from '../../lib/session.service.js';
import { idOf } from '../support/cookies.js';
import type { CountingStore } from '../support/counting.store.js';
import {
  logIn,
  PASSWORDS,
  PLATFORMS,
  startSampleApp,
  type SampleAppHarness,
} from '../support/sample-app.harness.js';

/** One entry of GET /admin/sessions. */
const LAPTOP_AGENT = 'Mozilla/5.0 (admin-e2e laptop)';

interface AdminListed {
  handle: string;
  kind: 'cookie' | 'token';
  createdAt: string;
  lastSeenAt: string;
  userAgent: string | null;
  ip: string | null;
}

interface TokenPair {
  accessToken: string;
  refreshToken: string;
}

/**
 * Issue 11 item 5: an admin lists any user's sessions (cookie sessions and
 * refresh-token families, by opaque handle) and logs that user out
 * everywhere. SessionGuard answers before the handler: 401 without a
 * session, 403 without the `admin` role, then 400 without a `userId`.
 */
describe.each(PLATFORMS)('GET/DELETE /admin/sessions (%s)', (platform) => {
  let h: SampleAppHarness<CountingStore>;
  let http: string;
  let admin: string;

  beforeAll(async () => {
    h = await startSampleApp(platform);
    http = h.http;
  });
  afterAll(async () => {
    await h?.close();
  });
  beforeEach(async () => {
    // Each test starts with no live sessions for alice, and an admin session of its own.
    await h.app.get(SessionService).revokeAllForUser('alice');
    admin = await logIn(http, 'admin');
  });

  const listAs = (cookie: string | undefined, query: string) => {
    const req = request(http).get(`/admin/sessions${query}`);
    return cookie ? req.set('Cookie', cookie) : req;
  };
  const revokeAs = (cookie: string | undefined, userId: string) => {
    const req = request(http).delete(`/admin/sessions/${encodeURIComponent(userId)}`);
    return cookie ? req.set('Cookie', cookie) : req;
  };
  const tokenLogIn = async (username: string): Promise<TokenPair> => {
    const res = await request(http)
      .post('/tokens/login')
      .send({ username, password: PASSWORDS[username] });
    expect(res.status).toBe(200);
    return res.body as TokenPair;
  };
  /** Alice on a laptop and a phone (cookie sessions) and in an API client (a token family). */
  /** A log-in from a browser of its own (its User-Agent is listed with the session). */
  const logInWithAgent = async (userAgent: string) => {
    const res = await request(http)
      .post('/auth/login')
      .set('User-Agent', userAgent)
      .send({ username: 'alice', password: PASSWORDS.alice });
    expect(res.status).toBe(200);
    const set = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
    return set.find((c) => c.startsWith('sid='))!.split(';')[0];
  };

  const aliceEverywhere = async () => ({
    laptop: await logInWithAgent(LAPTOP_AGENT),
    phone: await logIn(http, 'alice'),
    tokens: await tokenLogIn('alice'),
  });

  it('answers 401 no_session without a session and 403 forbidden without the admin role, before looking at userId', async () => {
    for (const res of [
      await listAs(undefined, '?userId=alice'),
      await listAs(undefined, ''),
      await revokeAs(undefined, 'alice'),
    ]) {
      expect(res.status).toBe(401);
      expect(res.body.reason).toBe('no_session');
    }

    const alice = await logIn(http, 'alice');
    for (const res of [
      await listAs(alice, '?userId=alice'),
      await listAs(alice, '?userId=admin'),
      await listAs(alice, ''),
      await revokeAs(alice, 'admin'),
      await revokeAs(alice, 'alice'),
    ]) {
      expect(res.status).toBe(403);
      expect(res.body.reason).toBe('forbidden');
    }
    // The refused DELETEs revoked nothing.
    expect((await request(http).get('/me').set('Cookie', alice)).status).toBe(200);
    expect((await request(http).get('/me').set('Cookie', admin)).status).toBe(200);
  });

  it('answers 400 to an admin without exactly one non-empty userId', async () => {
    for (const query of [
      '',
      '?userId=',
      '?userId=alice&userId=admin',
      `?userId=${'a'.repeat(129)}`,
    ]) {
      const res = await listAs(admin, query);
      expect({ query, status: res.status }).toEqual({ query, status: 400 });
      expect(res.body.message).toMatch(/userId/);
    }
  });

  it("lists the user's cookie sessions and token families: handle, kind, createdAt, lastSeenAt (ISO), oldest first, never an ID", async () => {
    const before = Date.now();
    const { laptop, phone, tokens } = await aliceEverywhere();
    await request(http).get('/'); // an anonymous session: nobody's

    const res = await listAs(admin, '?userId=alice');
    expect(res.status).toBe(200);
    const listed = res.body as AdminListed[];
    expect(listed).toHaveLength(3);
    for (const entry of listed) {
      expect(Object.keys(entry).sort()).toEqual([
        'createdAt',
        'handle',
        'ip',
        'kind',
        'lastSeenAt',
        'userAgent',
      ]);
      expect(entry.handle.length).toBeGreaterThanOrEqual(16);
      expect(new Date(entry.createdAt).toISOString()).toBe(entry.createdAt);
      expect(new Date(entry.lastSeenAt).toISOString()).toBe(entry.lastSeenAt);
      expect(Date.parse(entry.createdAt)).toBeGreaterThanOrEqual(before - 1000);
      expect(Date.parse(entry.lastSeenAt)).toBeGreaterThanOrEqual(Date.parse(entry.createdAt));
    }
    expect(listed.map((e) => e.kind).sort()).toEqual(['cookie', 'cookie', 'token']);
    // The log-in's client: the laptop's User-Agent, the address the app saw (loopback, or the
    // proxy's in redis-pair mode); a token family was started by no browser request of its own.
    const cookies = listed.filter((e) => e.kind === 'cookie');
    expect(cookies.map((e) => e.userAgent)).toContain(LAPTOP_AGENT);
    for (const entry of cookies) expect(entry.ip).toMatch(/^(::ffff:)?127\.0\.0\.1$|^::1$/);
    expect(listed.find((e) => e.kind === 'token')).toMatchObject({ userAgent: null, ip: null });
    const created = listed.map((e) => Date.parse(e.createdAt));
    expect(created).toEqual([...created].sort((a, b) => a - b));

    // The same handles alice sees for herself (her own listing names the same sessions).
    const own = await request(http).get('/sessions').set('Cookie', laptop);
    expect(own.status).toBe(200);
    const ownHandles = (own.body as { handle: string }[]).map((e) => e.handle).sort();
    expect(listed.map((e) => e.handle).sort()).toEqual(ownHandles);

    // Nothing a client could log in with: no session ID, no token.
    const text = JSON.stringify(listed);
    for (const cookie of [laptop, phone]) expect(text).not.toContain(idOf(cookie));
    expect(text).not.toContain(tokens.refreshToken);
    expect(text).not.toContain(tokens.accessToken);

    // Only that user's: the admin's own session is in the admin's listing, not in alice's.
    const admins = (await listAs(admin, '?userId=admin')).body as AdminListed[];
    expect(admins.length).toBeGreaterThanOrEqual(1);
    for (const entry of admins) expect(ownHandles).not.toContain(entry.handle);

    expect(await listAs(admin, '?userId=nobody')).toMatchObject({ status: 200, body: [] });
  });

  it('DELETE /admin/sessions/:userId logs the user out everywhere: 200 { revoked: n }, cookie sessions and token families', async () => {
    const { laptop, phone, tokens } = await aliceEverywhere();

    const res = await revokeAs(admin, 'alice');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ revoked: 3 });

    for (const cookie of [laptop, phone]) {
      const me = await request(http).get('/me').set('Cookie', cookie);
      expect(me.status).toBe(401);
      expect(me.body.reason).toBe('revoked');
    }
    // Under TOKEN_REVOCATION=strict (the default) the access token stops at once, and the family cannot refresh.
    const bearer = await request(http)
      .get('/tokens/me')
      .set('Authorization', `Bearer ${tokens.accessToken}`);
    expect(bearer.status).toBe(401);
    expect(bearer.body.reason).toBe('token_revoked');
    const refresh = await request(http)
      .post('/tokens/refresh')
      .send({ refreshToken: tokens.refreshToken });
    expect(refresh.status).toBe(401);

    expect(await listAs(admin, '?userId=alice')).toMatchObject({ status: 200, body: [] });
    // The admin's own session is untouched; a second sweep finds nothing left.
    expect((await request(http).get('/me').set('Cookie', admin)).status).toBe(200);
    expect((await revokeAs(admin, 'alice')).body).toEqual({ revoked: 0 });
    expect((await revokeAs(admin, 'nobody')).body).toEqual({ revoked: 0 });
  });
});
