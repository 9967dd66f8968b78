import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import request from 'supertest';
import { SessionService } from '../../lib/session.service.js';
import { readSampleConfig } from '../../sample/sample.config.js';
import { createSampleApp } from '../../sample/sample-app.js';
import { parseSetCookie, setCookies, type HasHeaders, type SetCookie } from '../support/cookies.js';
import type { CountingStore } from '../support/counting.store.js';
import {
  logIn,
  PASSWORDS,
  PLATFORMS,
  sleep,
  startSampleApp,
  TEST_SECRET,
  type Platform,
  type SampleAppHarness,
} from '../support/sample-app.harness.js';

/** The HS256 secret the tests give the sample (TOKEN_SECRET). */
const TOKEN_SECRET = 'e2e-token-secret-0123456789-abcdefghijklmnop';
/** The sample's defaults (TOKEN_ISSUER, TOKEN_AUDIENCE unset). */
const ISSUER = 'nest-session-sample';
const AUDIENCE = 'nest-session-sample';
/** `<family handle>.<secret>`: the library's refresh-token format. */
const REFRESH_TOKEN = /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/;

interface Pair {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

interface Listed {
  handle: string;
  createdAt: string;
  lastSeenAt: string;
  current: boolean;
  kind: 'cookie' | 'token';
}

type Response = request.Response;

function startTokens(platform: Platform, env: Record<string, string> = {}) {
  return startSampleApp(platform, { env: { TOKEN_SECRET, ...env } });
}

/** The token routes of the sample at `http`. */
function tokenApi(http: string) {
  return {
    login: (username = 'alice', password = PASSWORDS[username]) =>
      request(http).post('/tokens/login').send({ username, password }),
    /** POST /tokens/refresh with `{ refreshToken }` (or `{}` without a token). */
    refresh: (refreshToken?: unknown) =>
      request(http)
        .post('/tokens/refresh')
        .send(refreshToken === undefined ? {} : { refreshToken }),
    /** POST /tokens/refresh with no body, the token in the Cookie header. */
    refreshByCookie: (cookie: string) =>
      request(http).post('/tokens/refresh').set('Cookie', cookie),
    logout: (refreshToken?: unknown) =>
      request(http)
        .post('/tokens/logout')
        .send(refreshToken === undefined ? {} : { refreshToken }),
    me: (accessToken: string) =>
      request(http).get('/tokens/me').set('Authorization', `Bearer ${accessToken}`),
  };
}

/** Logs in with tokens; the pair. */
async function tokenLogIn(http: string, username = 'alice'): Promise<Pair> {
  const res = await tokenApi(http).login(username);
  if (res.status !== 200) throw new Error(`token login answered ${res.status}: ${res.text}`);
  return res.body as Pair;
}

/** The 401 of a refused token: Nest's error shape plus `reason`. */
function expectRefused(res: Response, reason: string): void {
  expect({ status: res.status, body: res.body }).toEqual({
    status: 401,
    body: { statusCode: 401, message: expect.any(String), error: 'Unauthorized', reason },
  });
}

/** The refresh cookie a response sets (the last one of that name). */
function refreshCookieOf(res: HasHeaders, name = 'refresh_token'): SetCookie | undefined {
  return setCookies(res)
    .map(parseSetCookie)
    .filter((c) => c.name === name)
    .at(-1);
}

/** A well-formed refresh token no family issued. */
function unknownRefreshToken(): string {
  return `${randomBytes(16).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
}

/** Waits until `Date.now()` reaches `at`. */
async function sleepUntil(at: number): Promise<void> {
  const ms = at - Date.now();
  if (ms > 0) await sleep(ms);
}

/** Each test starts with no live sessions or families for the demo users. */
async function forgetDemoUsers(h: SampleAppHarness<CountingStore>): Promise<void> {
  const service = h.app.get(SessionService);
  await service.revokeAllForUser('alice');
  await service.revokeAllForUser('admin');
}

describe.each(PLATFORMS)('token sessions (%s)', (platform) => {
  describe('default settings (HS256, revocation strict, no reuse grace)', () => {
    let h: SampleAppHarness<CountingStore>;
    let http: string;
    let api: ReturnType<typeof tokenApi>;

    beforeAll(async () => {
      h = await startTokens(platform);
      http = h.http;
      api = tokenApi(http);
    });
    afterAll(async () => {
      await h?.close();
    });
    beforeEach(() => forgetDemoUsers(h));

    describe('POST /tokens/login', () => {
      it('answers 200 { accessToken, refreshToken, expiresIn: 300 }: a signed access token, an opaque refresh token', async () => {
        const res = await api.login('admin');
        expect(res.status).toBe(200);
        expect(Object.keys(res.body).sort()).toEqual(['accessToken', 'expiresIn', 'refreshToken']);
        const { accessToken, refreshToken, expiresIn } = res.body as Pair;
        expect(expiresIn).toBe(300);
        expect(refreshToken).toMatch(REFRESH_TOKEN);
        expect(accessToken.split('.')).toHaveLength(3);
        expect(decodeProtectedHeader(accessToken)).toMatchObject({ alg: 'HS256', typ: 'at+jwt' });
        const claims = decodeJwt(accessToken);
        expect(claims).toMatchObject({
          iss: ISSUER,
          aud: AUDIENCE,
          sub: 'admin',
          roles: ['user', 'admin'],
        });
        expect(claims.exp! - claims.iat!).toBeGreaterThanOrEqual(300);
        expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(301);
        // the access token's family is the refresh token's
        expect(refreshToken.startsWith(`${claims.sid as string}.`)).toBe(true);
        expect(res.headers['cache-control']).toBe('no-store');
      });

      it('sets the refresh cookie: HttpOnly, SameSite=Strict, Path=/tokens, Max-Age, not Secure outside production; no session cookie', async () => {
        const res = await api.login();
        const cookie = refreshCookieOf(res);
        expect(cookie).toBeDefined();
        expect(cookie!.value).toBe(res.body.refreshToken);
        expect(cookie!.attributes).toMatchObject({
          httponly: true,
          samesite: 'Strict',
          path: '/tokens',
        });
        // min(TOKEN_REFRESH_TTL_MS, TOKEN_REFRESH_IDLE_MS) = 7 days
        expect(cookie!.maxAge).toBe(604_800);
        expect(cookie!.attributes.secure).toBeUndefined();
        expect(setCookies(res).map((c) => parseSetCookie(c).name)).toEqual(['refresh_token']);
      });

      it('401 for bad credentials, with no cookie', async () => {
        for (const [username, password] of [
          ['alice', 'wrong-password'],
          ['admin', 'alice-password'],
          ['nobody', 'alice-password'],
          ['__proto__', 'x'],
        ]) {
          const res = await api.login(username, password);
          expect(res.status).toBe(401);
          expect(res.body.statusCode).toBe(401);
          expect(setCookies(res)).toEqual([]);
        }
      });

      it('400 for an invalid body (the /auth/login rules)', async () => {
        for (const body of [
          {},
          { username: 'alice' },
          { username: 'alice', password: 123 },
          { username: ['alice'], password: 'alice-password' },
          { username: '', password: 'alice-password' },
          { username: 'alice', password: 'alice-password', extra: true },
          { username: 'a'.repeat(129), password: 'alice-password' },
        ]) {
          const res = await request(http).post('/tokens/login').send(body);
          expect({ body, status: res.status }).toEqual({ body, status: 400 });
          expect(setCookies(res)).toEqual([]);
        }
      });

      it('refuses a cross-site log-in (login CSRF) with 403 csrf, as /auth/login does', async () => {
        const res = await request(http)
          .post('/tokens/login')
          .set('Origin', 'https://evil.example')
          .send({ username: 'alice', password: PASSWORDS.alice });
        expect(res.status).toBe(403);
        expect(res.body.reason).toBe('csrf');
        expect(setCookies(res)).toEqual([]);
      });
    });

    describe('GET /tokens/me', () => {
      it("answers the access token's { userId, roles }", async () => {
        const { accessToken } = await tokenLogIn(http, 'admin');
        const res = await api.me(accessToken);
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ userId: 'admin', roles: ['user', 'admin'] });
      });

      it('401 token_missing without a bearer token (a session cookie is not one), token_invalid for a bad one', async () => {
        expectRefused(await request(http).get('/tokens/me'), 'token_missing');
        const cookie = await logIn(http, 'alice');
        expectRefused(await request(http).get('/tokens/me').set('Cookie', cookie), 'token_missing');
        const { accessToken, refreshToken } = await tokenLogIn(http);
        expectRefused(await api.me('not-a-jwt'), 'token_invalid');
        expectRefused(await api.me(refreshToken), 'token_invalid');
        // one character of the signature changed
        const last = accessToken.at(-2) === 'A' ? 'B' : 'A';
        expectRefused(
          await api.me(`${accessToken.slice(0, -2)}${last}${accessToken.at(-1)}`),
          'token_invalid',
        );
      });

      it('revocation strict: one store read per request', async () => {
        const { accessToken } = await tokenLogIn(http);
        h.store.reset();
        expect((await api.me(accessToken)).status).toBe(200);
        expect(h.store.nonZero()).toEqual({ peek: 1 });
      });
    });

    describe('POST /tokens/refresh', () => {
      it('via the body: 200 with a new pair and cookie; the refresh token rotates', async () => {
        const first = await tokenLogIn(http);
        const res = await api.refresh(first.refreshToken);
        expect(res.status).toBe(200);
        expect(Object.keys(res.body).sort()).toEqual(['accessToken', 'expiresIn', 'refreshToken']);
        const next = res.body as Pair;
        expect(next.expiresIn).toBe(300);
        expect(next.refreshToken).toMatch(REFRESH_TOKEN);
        expect(next.refreshToken).not.toBe(first.refreshToken);
        expect(next.accessToken).not.toBe(first.accessToken);
        // same family
        expect(decodeJwt(next.accessToken).sid).toBe(decodeJwt(first.accessToken).sid);
        expect(refreshCookieOf(res)!.value).toBe(next.refreshToken);
        expect(refreshCookieOf(res)!.attributes).toMatchObject({
          httponly: true,
          samesite: 'Strict',
          path: '/tokens',
        });
        expect(res.headers['cache-control']).toBe('no-store');
        expect((await api.me(next.accessToken)).body).toEqual({ userId: 'alice', roles: ['user'] });
        // and the next one again
        expect((await api.refresh(next.refreshToken)).status).toBe(200);
      });

      it('via the cookie when the body has none; the body wins over the cookie', async () => {
        const login = await api.login();
        const cookie = refreshCookieOf(login)!.pair;
        const res = await api.refreshByCookie(`sid=whatever; ${cookie}; other=1`);
        expect(res.status).toBe(200);
        const next = res.body as Pair;
        expect(next.refreshToken).not.toBe(login.body.refreshToken);
        expect(refreshCookieOf(res)!.value).toBe(next.refreshToken);
        expect((await api.me(next.accessToken)).status).toBe(200);

        // body first: a good token in the body, junk in the cookie
        const byBody = await request(http)
          .post('/tokens/refresh')
          .set('Cookie', 'refresh_token=junk')
          .send({ refreshToken: next.refreshToken });
        expect(byBody.status).toBe(200);
        // body first: an unknown token in the body is refused even with a good cookie
        const good = refreshCookieOf(byBody)!.pair;
        const unknown = await request(http)
          .post('/tokens/refresh')
          .set('Cookie', good)
          .send({ refreshToken: unknownRefreshToken() });
        expectRefused(unknown, 'token_invalid');
      });

      it('reuse: a rotated token answers refresh_reused; the newest refresh token and its access token are token_revoked at once', async () => {
        const first = await tokenLogIn(http);
        const second = (await api.refresh(first.refreshToken)).body as Pair;
        expect((await api.me(second.accessToken)).status).toBe(200);

        expectRefused(await api.refresh(first.refreshToken), 'refresh_reused');
        // the very next request: the family is revoked, every token of it with it
        expectRefused(await api.me(second.accessToken), 'token_revoked');
        expectRefused(await api.refresh(second.refreshToken), 'token_revoked');
        expectRefused(await api.me(first.accessToken), 'token_revoked');
        // the spent token keeps answering token_revoked (no second reuse event needed)
        expectRefused(await api.refresh(first.refreshToken), 'token_revoked');
        // another family of the same user is untouched
        const other = await tokenLogIn(http);
        expect((await api.refresh(other.refreshToken)).status).toBe(200);
      });

      it('unknown or malformed token: 401 token_invalid', async () => {
        for (const token of [
          unknownRefreshToken(),
          'garbage',
          'a'.repeat(66),
          `${unknownRefreshToken()}x`,
          '../../etc/passwd',
          ' '.repeat(3),
          'x'.repeat(10_000),
        ]) {
          expectRefused(await api.refresh(token), 'token_invalid');
        }
        expectRefused(
          await api.refreshByCookie(`refresh_token=${unknownRefreshToken()}`),
          'token_invalid',
        );
        // a real token's family with another secret
        const { refreshToken } = await tokenLogIn(http);
        const forged = `${refreshToken.split('.')[0]}.${randomBytes(32).toString('base64url')}`;
        expectRefused(await api.refresh(forged), 'token_invalid');
        expect((await api.refresh(refreshToken)).status).toBe(200);
      });

      it('no token at all: 401 token_missing', async () => {
        expectRefused(await request(http).post('/tokens/refresh'), 'token_missing');
        expectRefused(await api.refresh(), 'token_missing');
        expectRefused(await api.refresh(null), 'token_missing');
        expectRefused(await api.refresh(''), 'token_missing');
        expectRefused(await api.refreshByCookie('refresh_token='), 'token_missing');
        expectRefused(await api.refreshByCookie('sid=abc; other=1'), 'token_missing');
        expect(setCookies(await api.refresh())).toEqual([]);
      });

      it('400 for a refreshToken that is not a string, or other fields', async () => {
        for (const body of [
          { refreshToken: 123 },
          { refreshToken: true },
          { refreshToken: ['a'] },
          { refreshToken: { $ne: null } },
          { refresh_token: 'x' },
        ]) {
          const res = await request(http).post('/tokens/refresh').send(body);
          expect({ body, status: res.status }).toEqual({ body, status: 400 });
        }
      });

      it('race: two concurrent refreshes of one token never both succeed (100 tries)', async () => {
        const TRIES = 100;
        let successes = 0;
        const losers: Record<string, number> = {};
        let last: { winner?: Pair } = {};
        for (let i = 0; i < TRIES; i++) {
          const { refreshToken } = await tokenLogIn(http);
          const answers = await Promise.all([api.refresh(refreshToken), api.refresh(refreshToken)]);
          const ok = answers.filter((r) => r.status === 200);
          expect(ok.length).toBeLessThanOrEqual(1);
          successes += ok.length;
          for (const r of answers.filter((a) => a.status !== 200)) {
            const key = `${r.status} ${r.body?.reason}`;
            losers[key] = (losers[key] ?? 0) + 1;
          }
          last = { winner: ok[0]?.body as Pair | undefined };
        }
        // one of the two always wins; the other is a reuse, which ends the family
        expect({ successes, losers }).toEqual({
          successes: TRIES,
          losers: { '401 refresh_reused': TRIES },
        });
        expectRefused(await api.me(last.winner!.accessToken), 'token_revoked');
        expectRefused(await api.refresh(last.winner!.refreshToken), 'token_revoked');
      });
    });

    describe('POST /tokens/logout', () => {
      it('200, clears the cookie, and ends the family: refresh and the access token answer token_revoked', async () => {
        const pair = await tokenLogIn(http);
        const res = await api.logout(pair.refreshToken);
        expect(res.status).toBe(200);
        const cleared = refreshCookieOf(res)!;
        expect(cleared.cleared).toBe(true);
        expect(cleared.attributes).toMatchObject({
          httponly: true,
          samesite: 'Strict',
          path: '/tokens',
        });
        expectRefused(await api.refresh(pair.refreshToken), 'token_revoked');
        expectRefused(await api.me(pair.accessToken), 'token_revoked');
      });

      it('via the cookie', async () => {
        const login = await api.login();
        const res = await request(http)
          .post('/tokens/logout')
          .set('Cookie', refreshCookieOf(login)!.pair);
        expect(res.status).toBe(200);
        expect(refreshCookieOf(res)!.cleared).toBe(true);
        expectRefused(await api.me(login.body.accessToken), 'token_revoked');
        expectRefused(await api.refresh(login.body.refreshToken), 'token_revoked');
      });

      it('idempotent: again, an unknown, malformed or absent token all answer 200', async () => {
        const pair = await tokenLogIn(http);
        expect((await api.logout(pair.refreshToken)).status).toBe(200);
        for (const res of [
          await api.logout(pair.refreshToken),
          await api.logout(unknownRefreshToken()),
          await api.logout('garbage'),
          await api.logout(),
          await request(http).post('/tokens/logout'),
          await request(http).post('/tokens/logout').set('Cookie', 'refresh_token=junk'),
        ]) {
          expect(res.status).toBe(200);
          expect(refreshCookieOf(res)!.cleared).toBe(true);
        }
        expect((await request(http).post('/tokens/logout').send({ refreshToken: 1 })).status).toBe(
          400,
        );
      });

      it("logging out one family leaves the user's other families and cookie sessions alone", async () => {
        const cookie = await logIn(http, 'alice');
        const kept = await tokenLogIn(http);
        const ended = await tokenLogIn(http);
        expect((await api.logout(ended.refreshToken)).status).toBe(200);
        expect((await api.me(kept.accessToken)).status).toBe(200);
        expect((await api.refresh(kept.refreshToken)).status).toBe(200);
        expect((await request(http).get('/me').set('Cookie', cookie)).status).toBe(200);
      });
    });

    describe('GET/DELETE /sessions with both kinds', () => {
      const list = async (cookie: string) => {
        const res = await request(http).get('/sessions').set('Cookie', cookie);
        expect(res.status).toBe(200);
        return res.body as Listed[];
      };

      it("lists the user's cookie sessions and token families, each with its kind", async () => {
        const cookie = await logIn(http, 'alice');
        const pair = await tokenLogIn(http, 'alice');
        await tokenLogIn(http, 'admin'); // someone else's: not listed
        const listed = await list(cookie);
        expect(listed).toHaveLength(2);
        for (const entry of listed) {
          expect(Object.keys(entry).sort()).toEqual([
            'createdAt',
            'current',
            'handle',
            'kind',
            'lastSeenAt',
          ]);
        }
        const byKind = Object.fromEntries(listed.map((e) => [e.kind, e]));
        expect(Object.keys(byKind).sort()).toEqual(['cookie', 'token']);
        expect(byKind.cookie.current).toBe(true);
        expect(byKind.token.current).toBe(false);
        // a token family's handle is the family (the access token's sid claim)
        expect(byKind.token.handle).toBe(decodeJwt(pair.accessToken).sid);
        // the listing holds no token
        const text = JSON.stringify(listed);
        expect(text).not.toContain(pair.refreshToken.split('.')[1]);

        // a refresh moves the family's lastSeenAt, not its handle
        await sleep(5);
        expect((await api.refresh(pair.refreshToken)).status).toBe(200);
        const after = (await list(cookie)).find((e) => e.kind === 'token')!;
        expect(after.handle).toBe(byKind.token.handle);
        expect(Date.parse(after.lastSeenAt)).toBeGreaterThan(Date.parse(byKind.token.lastSeenAt));
      });

      it('DELETE /sessions revokes both kinds in one call (revoked counts both)', async () => {
        const cookie = await logIn(http, 'alice');
        const otherCookie = await logIn(http, 'alice');
        const pairs = [await tokenLogIn(http, 'alice'), await tokenLogIn(http, 'alice')];
        const admin = await tokenLogIn(http, 'admin');

        const res = await request(http).delete('/sessions').set('Cookie', cookie);
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ revoked: 4 });
        for (const pair of pairs) {
          expectRefused(await api.me(pair.accessToken), 'token_revoked');
          expectRefused(await api.refresh(pair.refreshToken), 'token_revoked');
        }
        expect((await request(http).get('/me').set('Cookie', otherCookie)).status).toBe(401);
        expect(await h.app.get(SessionService).listForUser('alice')).toEqual([]);
        // another user's family is untouched
        expect((await api.me(admin.accessToken)).status).toBe(200);
      });

      it("DELETE /sessions/:handle with a token family's handle ends that family", async () => {
        const cookie = await logIn(http, 'alice');
        const pair = await tokenLogIn(http, 'alice');
        const family = (await list(cookie)).find((e) => e.kind === 'token')!.handle;
        const res = await request(http).delete(`/sessions/${family}`).set('Cookie', cookie);
        expect(res.status).toBe(200);
        expectRefused(await api.me(pair.accessToken), 'token_revoked');
        expectRefused(await api.refresh(pair.refreshToken), 'token_revoked');
        expect((await request(http).get('/me').set('Cookie', cookie)).status).toBe(200);
        // someone else's family: 404, untouched
        const admin = await tokenLogIn(http, 'admin');
        const adminFamily = decodeJwt(admin.accessToken).sid as string;
        expect(
          (await request(http).delete(`/sessions/${adminFamily}`).set('Cookie', cookie)).status,
        ).toBe(404);
        expect((await api.me(admin.accessToken)).status).toBe(200);
      });
    });

    it('GET /.well-known/jwks.json: 404 with HS256 (a shared secret is never published)', async () => {
      const res = await request(http).get('/.well-known/jwks.json');
      expect(res.status).toBe(404);
      expect(res.text).not.toContain(TOKEN_SECRET);
    });
  });

  describe('short refresh lifetimes (TOKEN_REFRESH_IDLE_MS=600, TOKEN_REFRESH_TTL_MS=1200)', () => {
    let h: SampleAppHarness<CountingStore>;
    let api: ReturnType<typeof tokenApi>;

    beforeAll(async () => {
      h = await startTokens(platform, {
        TOKEN_REFRESH_IDLE_MS: '600',
        TOKEN_REFRESH_TTL_MS: '1200',
      });
      api = tokenApi(h.http);
    });
    afterAll(async () => {
      await h?.close();
    });
    beforeEach(() => forgetDemoUsers(h));

    it('a family unused for TOKEN_REFRESH_IDLE_MS: refresh answers token_expired, its access token token_revoked', async () => {
      const pair = await tokenLogIn(h.http);
      await sleep(750);
      expectRefused(await api.refresh(pair.refreshToken), 'token_expired');
      expectRefused(await api.me(pair.accessToken), 'token_revoked');
    });

    it('refreshes slide the idle timeout, but not past TOKEN_REFRESH_TTL_MS', async () => {
      const start = Date.now();
      let pair = await tokenLogIn(h.http);
      // three refreshes, each within the idle timeout of the previous: 1050 ms in all (> 600)
      for (const at of [350, 700, 1050]) {
        await sleepUntil(start + at);
        const res = await api.refresh(pair.refreshToken);
        expect({ at, status: res.status }).toEqual({ at, status: 200 });
        pair = res.body as Pair;
      }
      // well within the idle timeout of the last refresh, but past the absolute lifetime
      await sleepUntil(start + 1350);
      expectRefused(await api.refresh(pair.refreshToken), 'token_expired');
    });
  });

  describe('short access tokens (TOKEN_ACCESS_TTL_MS=1000, TOKEN_CLOCK_SKEW_MS=0)', () => {
    let h: SampleAppHarness<CountingStore>;
    let api: ReturnType<typeof tokenApi>;

    beforeAll(async () => {
      h = await startTokens(platform, { TOKEN_ACCESS_TTL_MS: '1000', TOKEN_CLOCK_SKEW_MS: '0' });
      api = tokenApi(h.http);
    });
    afterAll(async () => {
      await h?.close();
    });

    it('an access token past its exp answers token_expired; a refresh gets a working one', async () => {
      const pair = await tokenLogIn(h.http);
      expect(pair.expiresIn).toBe(1);
      expect((await api.me(pair.accessToken)).status).toBe(200);
      // JWT times are whole seconds: exp is at most 2 s away; poll rather than sleep it all
      const deadline = Date.now() + 3000;
      let res = await api.me(pair.accessToken);
      while (res.status === 200 && Date.now() < deadline) {
        await sleep(100);
        res = await api.me(pair.accessToken);
      }
      expectRefused(res, 'token_expired');
      const next = (await api.refresh(pair.refreshToken)).body as Pair;
      expect((await api.me(next.accessToken)).status).toBe(200);
    });
  });

  describe('TOKEN_REVOCATION=none', () => {
    let h: SampleAppHarness<CountingStore>;
    let api: ReturnType<typeof tokenApi>;

    beforeAll(async () => {
      h = await startTokens(platform, { TOKEN_REVOCATION: 'none' });
      api = tokenApi(h.http);
    });
    afterAll(async () => {
      await h?.close();
    });
    beforeEach(() => forgetDemoUsers(h));

    it('after logout the access token still works until it expires (no store read); refresh is refused', async () => {
      const pair = await tokenLogIn(h.http);
      expect((await api.logout(pair.refreshToken)).status).toBe(200);
      // The documented delay: a revoked family's access tokens live on for up to TOKEN_ACCESS_TTL_MS.
      h.store.reset();
      const res = await api.me(pair.accessToken);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ userId: 'alice', roles: ['user'] });
      expect(h.store.total()).toBe(0);
      expectRefused(await api.refresh(pair.refreshToken), 'token_revoked');
    });

    it('reuse still ends the family for refreshes', async () => {
      const first = await tokenLogIn(h.http);
      const second = (await api.refresh(first.refreshToken)).body as Pair;
      expectRefused(await api.refresh(first.refreshToken), 'refresh_reused');
      expectRefused(await api.refresh(second.refreshToken), 'token_revoked');
      expect((await api.me(second.accessToken)).status).toBe(200);
    });
  });

  describe('TOKEN_REUSE_GRACE_MS=1000', () => {
    let h: SampleAppHarness<CountingStore>;
    let api: ReturnType<typeof tokenApi>;

    beforeAll(async () => {
      h = await startTokens(platform, { TOKEN_REUSE_GRACE_MS: '1000' });
      api = tokenApi(h.http);
    });
    afterAll(async () => {
      await h?.close();
    });
    beforeEach(() => forgetDemoUsers(h));

    it('the previous token inside the grace gets the SAME successor; a token two generations back is refresh_reused', async () => {
      const first = await tokenLogIn(h.http);
      const second = (await api.refresh(first.refreshToken)).body as Pair;
      // a retry of the refresh whose answer was lost
      const retry = await api.refresh(first.refreshToken);
      expect(retry.status).toBe(200);
      expect(retry.body.refreshToken).toBe(second.refreshToken);
      expect(refreshCookieOf(retry)!.value).toBe(second.refreshToken);
      expect((await api.me(retry.body.accessToken)).status).toBe(200);
      // the family goes on from the successor
      const third = await api.refresh(second.refreshToken);
      expect(third.status).toBe(200);
      expect(third.body.refreshToken).not.toBe(second.refreshToken);
      // `first` is now two generations back: reuse, the family ends
      expectRefused(await api.refresh(first.refreshToken), 'refresh_reused');
      expectRefused(await api.me(third.body.accessToken), 'token_revoked');
      expectRefused(await api.refresh(third.body.refreshToken), 'token_revoked');
    });

    it('two concurrent refreshes of one token inside the grace both answer the same successor', async () => {
      const { refreshToken } = await tokenLogIn(h.http);
      const answers = await Promise.all([api.refresh(refreshToken), api.refresh(refreshToken)]);
      expect(answers.map((r) => r.status)).toEqual([200, 200]);
      expect(answers[0].body.refreshToken).toBe(answers[1].body.refreshToken);
      expect((await api.refresh(answers[0].body.refreshToken)).status).toBe(200);
    });

    it('the previous token after the grace is refresh_reused', async () => {
      const first = await tokenLogIn(h.http);
      const second = (await api.refresh(first.refreshToken)).body as Pair;
      await sleep(1150);
      expectRefused(await api.refresh(first.refreshToken), 'refresh_reused');
      expectRefused(await api.refresh(second.refreshToken), 'token_revoked');
    });
  });

  describe('TOKEN_ALG=EdDSA (TOKEN_PRIVATE_KEY as PEM, TOKEN_KID)', () => {
    let h: SampleAppHarness<CountingStore>;
    let api: ReturnType<typeof tokenApi>;

    beforeAll(async () => {
      const { privateKey } = generateKeyPairSync('ed25519');
      h = await startSampleApp(platform, {
        env: {
          TOKEN_ALG: 'EdDSA',
          TOKEN_SECRET: undefined, // the harness's HS256 default does not apply
          TOKEN_PRIVATE_KEY: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
          TOKEN_KID: 'e2e-key-1',
          TOKEN_ISSUER: 'https://issuer.e2e.test',
          TOKEN_AUDIENCE: 'e2e-api',
        },
      });
      api = tokenApi(h.http);
    });
    afterAll(async () => {
      await h?.close();
    });

    it('GET /.well-known/jwks.json publishes the public key; an access token verifies with jose createLocalJWKSet', async () => {
      const res = await request(h.http).get('/.well-known/jwks.json');
      expect(res.status).toBe(200);
      const jwks = res.body as { keys: JWK[] };
      expect(jwks.keys).toHaveLength(1);
      expect(jwks.keys[0]).toMatchObject({
        kty: 'OKP',
        crv: 'Ed25519',
        kid: 'e2e-key-1',
        alg: 'EdDSA',
        use: 'sig',
      });
      expect(jwks.keys[0].d).toBeUndefined(); // never the private part

      const pair = await tokenLogIn(h.http, 'admin');
      expect(decodeProtectedHeader(pair.accessToken)).toMatchObject({
        alg: 'EdDSA',
        kid: 'e2e-key-1',
        typ: 'at+jwt',
      });
      const { payload } = await jwtVerify(pair.accessToken, createLocalJWKSet(jwks), {
        issuer: 'https://issuer.e2e.test',
        audience: 'e2e-api',
        typ: 'at+jwt',
        algorithms: ['EdDSA'],
      });
      expect(payload).toMatchObject({ sub: 'admin', roles: ['user', 'admin'] });
      expect((await api.me(pair.accessToken)).body).toEqual({
        userId: 'admin',
        roles: ['user', 'admin'],
      });
      const next = (await api.refresh(pair.refreshToken)).body as Pair;
      await jwtVerify(next.accessToken, createLocalJWKSet(jwks), {
        issuer: 'https://issuer.e2e.test',
        audience: 'e2e-api',
      });
    });
  });

  describe('NODE_ENV=production', () => {
    let h: SampleAppHarness<CountingStore>;
    let api: ReturnType<typeof tokenApi>;

    beforeAll(async () => {
      h = await startTokens(platform, { NODE_ENV: 'production' });
      api = tokenApi(h.http);
    });
    afterAll(async () => {
      await h?.close();
    });

    it('the refresh cookie is Secure, named __Secure-refresh_token, and still works', async () => {
      const login = await api.login();
      const cookie = refreshCookieOf(login, '__Secure-refresh_token')!;
      expect(cookie.value).toBe(login.body.refreshToken);
      expect(cookie.attributes).toMatchObject({
        secure: true,
        httponly: true,
        samesite: 'Strict',
        path: '/tokens',
      });
      const res = await api.refreshByCookie(cookie.pair);
      expect(res.status).toBe(200);
      expect(refreshCookieOf(res, '__Secure-refresh_token')!.attributes.secure).toBe(true);
      // the old name is not read
      expectRefused(
        await api.refreshByCookie(`refresh_token=${res.body.refreshToken}`),
        'token_missing',
      );
      const out = await request(h.http)
        .post('/tokens/logout')
        .set('Cookie', refreshCookieOf(res, '__Secure-refresh_token')!.pair);
      expect(out.status).toBe(200);
      const cleared = refreshCookieOf(out, '__Secure-refresh_token')!;
      expect(cleared.cleared).toBe(true);
      expect(cleared.attributes.secure).toBe(true);
      expectRefused(await api.me(res.body.accessToken), 'token_revoked');
    });
  });

  it('a TOKEN_SECRET shorter than 32 characters rejects app creation with a clear error', async () => {
    const config = readSampleConfig({
      PLATFORM: platform,
      SESSION_SECRET: TEST_SECRET,
      TOKEN_SECRET: 'too-short',
    });
    await expect(createSampleApp(config, { logger: false })).rejects.toThrow(
      /tokens\.secret must be at least 32 characters/,
    );
  });
});

describe('sample config: the TOKEN_* variables', () => {
  const read = (env: Record<string, string>) =>
    readSampleConfig({ SESSION_SECRET: TEST_SECRET, TOKEN_SECRET, ...env });
  const pem = (key: { export(o: object): string | Buffer }) =>
    key.export({ format: 'pem', type: 'pkcs8' }).toString();

  it('defaults: 5 min access tokens, 14 d / 7 d families, strict, 5 s skew, no grace, HS256', () => {
    expect(read({}).tokens).toEqual({
      keys: { alg: 'HS256', secrets: [TOKEN_SECRET] },
      issuer: 'nest-session-sample',
      audience: 'nest-session-sample',
      accessTtlMs: 300_000,
      refreshTtlMs: 1_209_600_000,
      refreshIdleMs: 604_800_000,
      revocation: 'strict',
      clockSkewMs: 5_000,
      reuseGraceMs: 0,
    });
  });

  it('reads every variable; TOKEN_CLOCK_SKEW_MS and TOKEN_REUSE_GRACE_MS may be 0', () => {
    const config = read({
      TOKEN_ACCESS_TTL_MS: '60000',
      TOKEN_REFRESH_TTL_MS: '86400000',
      TOKEN_REFRESH_IDLE_MS: '3600000',
      TOKEN_REVOCATION: 'none',
      TOKEN_CLOCK_SKEW_MS: '0',
      TOKEN_REUSE_GRACE_MS: '2000',
      TOKEN_SECRET: ` ${'n'.repeat(32)} , ${'o'.repeat(32)} ,`,
      TOKEN_ISSUER: 'https://auth.example',
      TOKEN_AUDIENCE: 'api',
    });
    expect(config.tokens).toEqual({
      keys: { alg: 'HS256', secrets: ['n'.repeat(32), 'o'.repeat(32)] },
      issuer: 'https://auth.example',
      audience: 'api',
      accessTtlMs: 60_000,
      refreshTtlMs: 86_400_000,
      refreshIdleMs: 3_600_000,
      revocation: 'none',
      clockSkewMs: 0,
      reuseGraceMs: 2000,
    });
    expect(read({ TOKEN_REUSE_GRACE_MS: '0' }).tokens.reuseGraceMs).toBe(0);
  });

  it('TOKEN_SECRET unset: a random secret in development, an error in production', () => {
    const dev = readSampleConfig({ SESSION_SECRET: TEST_SECRET }).tokens.keys;
    expect(dev.alg).toBe('HS256');
    const [secret] = (dev as { secrets: string[] }).secrets;
    expect(secret.length).toBeGreaterThanOrEqual(32);
    expect(secret).not.toBe(
      (readSampleConfig({ SESSION_SECRET: TEST_SECRET }).tokens.keys as { secrets: string[] })
        .secrets[0],
    );
    expect(() => readSampleConfig({ SESSION_SECRET: TEST_SECRET, NODE_ENV: 'production' })).toThrow(
      'TOKEN_SECRET is required when NODE_ENV=production',
    );
    expect(() =>
      readSampleConfig({
        SESSION_SECRET: TEST_SECRET,
        NODE_ENV: 'production',
        TOKEN_SECRET: ' , ',
      }),
    ).toThrow('TOKEN_SECRET is required when NODE_ENV=production');
    expect(read({ NODE_ENV: 'production' }).tokens.keys).toEqual({
      alg: 'HS256',
      secrets: [TOKEN_SECRET],
    });
  });

  it('TOKEN_ALG EdDSA/ES256: TOKEN_PRIVATE_KEY as PEM (also with \\n escapes) or JWK JSON; TOKEN_KID', () => {
    const ed = generateKeyPairSync('ed25519');
    const fromPem = readSampleConfig({
      SESSION_SECRET: TEST_SECRET,
      TOKEN_ALG: 'EdDSA',
      TOKEN_PRIVATE_KEY: pem(ed.privateKey),
    }).tokens.keys;
    expect(fromPem).toMatchObject({ alg: 'EdDSA', kid: 'sample-1' });
    const key = (fromPem as { privateKey: import('node:crypto').KeyObject }).privateKey;
    expect(key.equals(ed.privateKey)).toBe(true);

    const escaped = readSampleConfig({
      SESSION_SECRET: TEST_SECRET,
      TOKEN_ALG: 'EdDSA',
      TOKEN_PRIVATE_KEY: pem(ed.privateKey).trim().replace(/\n/g, '\\n'),
      TOKEN_KID: 'k2',
    }).tokens.keys as { kid: string; privateKey: import('node:crypto').KeyObject };
    expect(escaped.kid).toBe('k2');
    expect(escaped.privateKey.equals(ed.privateKey)).toBe(true);

    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const fromJwk = readSampleConfig({
      SESSION_SECRET: TEST_SECRET,
      TOKEN_ALG: 'ES256',
      TOKEN_PRIVATE_KEY: JSON.stringify(ec.privateKey.export({ format: 'jwk' })),
    }).tokens.keys as { alg: string; privateKey: import('node:crypto').KeyObject };
    expect(fromJwk.alg).toBe('ES256');
    expect(fromJwk.privateKey.equals(ec.privateKey)).toBe(true);
  });

  it('TOKEN_ALG asymmetric without TOKEN_PRIVATE_KEY: a key pair generated in development, an error in production', () => {
    for (const [alg, type] of [
      ['EdDSA', 'ed25519'],
      ['ES256', 'ec'],
    ]) {
      const keys = readSampleConfig({ SESSION_SECRET: TEST_SECRET, TOKEN_ALG: alg }).tokens
        .keys as {
        privateKey: import('node:crypto').KeyObject;
      };
      expect(keys.privateKey.type).toBe('private');
      expect(keys.privateKey.asymmetricKeyType).toBe(type);
      expect(() =>
        readSampleConfig({ SESSION_SECRET: TEST_SECRET, TOKEN_ALG: alg, NODE_ENV: 'production' }),
      ).toThrow(`TOKEN_PRIVATE_KEY is required when NODE_ENV=production (TOKEN_ALG=${alg})`);
    }
  });

  it('names the variable and the value in every error', () => {
    const ed = generateKeyPairSync('ed25519');
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const cases: Array<[Record<string, string>, string]> = [
      [{ TOKEN_ACCESS_TTL_MS: '0' }, "TOKEN_ACCESS_TTL_MS must be a positive integer (got '0')"],
      [{ TOKEN_ACCESS_TTL_MS: '5m' }, "TOKEN_ACCESS_TTL_MS must be a positive integer (got '5m')"],
      [
        { TOKEN_REFRESH_TTL_MS: '1.5' },
        "TOKEN_REFRESH_TTL_MS must be a positive integer (got '1.5')",
      ],
      [
        { TOKEN_REFRESH_IDLE_MS: '-1' },
        "TOKEN_REFRESH_IDLE_MS must be a positive integer (got '-1')",
      ],
      [
        { TOKEN_CLOCK_SKEW_MS: '-1' },
        "TOKEN_CLOCK_SKEW_MS must be a non-negative integer (got '-1')",
      ],
      [
        { TOKEN_REUSE_GRACE_MS: 'soon' },
        "TOKEN_REUSE_GRACE_MS must be a non-negative integer (got 'soon')",
      ],
      [{ TOKEN_REVOCATION: 'lax' }, "TOKEN_REVOCATION must be 'strict' or 'none' (got 'lax')"],
      [{ TOKEN_ALG: 'RS256' }, "TOKEN_ALG must be 'HS256', 'EdDSA' or 'ES256' (got 'RS256')"],
      [{ TOKEN_ALG: 'none' }, "TOKEN_ALG must be 'HS256', 'EdDSA' or 'ES256' (got 'none')"],
      [
        { TOKEN_ALG: 'EdDSA' },
        'TOKEN_SECRET is for TOKEN_ALG=HS256 only; with TOKEN_ALG=EdDSA set TOKEN_PRIVATE_KEY',
      ],
      [
        { TOKEN_PRIVATE_KEY: pem(ed.privateKey) },
        "TOKEN_PRIVATE_KEY needs TOKEN_ALG 'EdDSA' or 'ES256'",
      ],
      [
        { TOKEN_SECRET: '', TOKEN_ALG: 'EdDSA', TOKEN_PRIVATE_KEY: 'not a key' },
        'TOKEN_PRIVATE_KEY must be a PEM private key or a private JWK as JSON',
      ],
      [
        { TOKEN_SECRET: '', TOKEN_ALG: 'EdDSA', TOKEN_PRIVATE_KEY: '{"kty":' },
        'TOKEN_PRIVATE_KEY must be a PEM private key or a private JWK as JSON',
      ],
      [
        {
          TOKEN_SECRET: '',
          TOKEN_ALG: 'EdDSA',
          TOKEN_PRIVATE_KEY: JSON.stringify(ed.publicKey.export({ format: 'jwk' })),
        },
        'TOKEN_PRIVATE_KEY must be a PEM private key or a private JWK as JSON',
      ],
      [
        { TOKEN_SECRET: '', TOKEN_ALG: 'EdDSA', TOKEN_PRIVATE_KEY: pem(ec.privateKey) },
        'TOKEN_PRIVATE_KEY must be an Ed25519 private key for TOKEN_ALG=EdDSA',
      ],
      [
        { TOKEN_SECRET: '', TOKEN_ALG: 'ES256', TOKEN_PRIVATE_KEY: pem(ed.privateKey) },
        'TOKEN_PRIVATE_KEY must be a P-256 private key for TOKEN_ALG=ES256',
      ],
    ];
    for (const [env, message] of cases) {
      expect(() => read(env)).toThrow(message);
    }
  });

  it('a TOKEN_PRIVATE_KEY that does not parse is never echoed in the error', () => {
    for (const raw of ['{"kty":"OKP","crv":"Ed25519","d":"TOPSECRETVALUE"', 'TOPSECRETVALUE']) {
      let message = '';
      try {
        read({ TOKEN_SECRET: '', TOKEN_ALG: 'EdDSA', TOKEN_PRIVATE_KEY: raw });
      } catch (error) {
        message = String(error) + String((error as Error).cause ?? '');
      }
      expect(message).toContain('TOKEN_PRIVATE_KEY must be');
      expect(message).not.toContain('TOPSECRET');
    }
  });
});
