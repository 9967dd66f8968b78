import { describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import type { SessionEvent } from '../../lib/events/session-event.js';
import { SessionEvents } from '../../lib/events/session-events.js';
import type { SessionTokenOptions } from '../../lib/options/token-options.js';
import { SessionEngine } from '../../lib/session/session.engine.js';
import { resolveSessionOptions } from '../../lib/session.options.js';
import { SessionService } from '../../lib/session.service.js';
import { MemoryStore } from '../../lib/stores/memory.store.js';
import type { SessionStore } from '../../lib/stores/session-store.interface.js';
import { familyStoreKey } from '../../lib/tokens/refresh-token.js';
import { TokenService } from '../../lib/tokens/token.service.js';
import { AUDIENCE, ISSUER, SESSION_SECRET, TOKEN_SECRET } from './token-fixtures.js';

/** TokenService and SessionService on one store, wired as SessionModule wires them. */
function setup(tokens: Partial<SessionTokenOptions> = {}, store: SessionStore = new MemoryStore()) {
  const options = resolveSessionOptions({
    secret: SESSION_SECRET,
    store,
    tokens: { secret: TOKEN_SECRET, issuer: ISSUER, audience: AUDIENCE, ...tokens },
  });
  const events = new SessionEvents();
  const seen: SessionEvent[] = [];
  events.events$.subscribe((event) => seen.push(event));
  const engine = new SessionEngine(options, events);
  return {
    tokens: new TokenService(options, engine, events),
    sessions: new SessionService(engine, events),
    store,
    seen,
  };
}

async function reasonOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return (error as { reason?: string }).reason ?? String(error);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('TokenService: refresh-token families', () => {
  it('logIn answers a pair whose access token names the family; the store keeps only digests', async () => {
    const { tokens, store } = setup();
    const pair = await tokens.logIn({ userId: 42, roles: ['user'] });
    expect(pair.expiresIn).toBe(300);
    expect(pair.refreshToken).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    const claims = decodeJwt(pair.accessToken);
    expect(claims).toMatchObject({ sub: '42', sid: pair.family, roles: ['user'] });
    const record = (await store.get(familyStoreKey(pair.family)))!;
    expect(record).toMatchObject({ userId: '42', roles: ['user'], refresh: { generation: 1 } });
    expect(JSON.stringify(record)).not.toContain(pair.refreshToken.split('.')[1]);
    await expect(tokens.verifyAccessToken(pair.accessToken)).resolves.toMatchObject({
      userId: '42',
      family: pair.family,
    });
  });

  it('refresh rotates: a new refresh token, the same family; the new one rotates again', async () => {
    const { tokens } = setup();
    const first = await tokens.logIn({ userId: 'alice', roles: ['user'] });
    const second = await tokens.refresh(first.refreshToken);
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(second.family).toBe(first.family);
    expect(decodeJwt(second.accessToken)).toMatchObject({ sub: 'alice', roles: ['user'] });
    const third = await tokens.refresh(second.refreshToken);
    expect(third.family).toBe(first.family);
  });

  it('reuse of a rotated token revokes the family at once: every token of it is refused, refresh_reused is emitted', async () => {
    const { tokens, seen } = setup();
    const first = await tokens.logIn({ userId: 'alice' });
    const second = await tokens.refresh(first.refreshToken);
    expect(await reasonOf(tokens.refresh(first.refreshToken))).toBe('refresh_reused');
    expect(await reasonOf(tokens.refresh(second.refreshToken))).toBe('token_revoked');
    expect(await reasonOf(tokens.verifyAccessToken(second.accessToken))).toBe('token_revoked');
    expect(await reasonOf(tokens.verifyAccessToken(first.accessToken))).toBe('token_revoked');
    expect(seen.map((e) => `${e.type}${e.reason ? `:${e.reason}` : ''}`)).toEqual([
      'token_issued',
      'token_refreshed',
      'refresh_reused',
      'destroyed:reuse',
    ]);
    expect(seen[2]).toMatchObject({ kind: 'token', handle: first.family, userId: 'alice' });
    expect(seen[3]).toMatchObject({ kind: 'token', handle: first.family, userId: 'alice' });
  });

  it('a token two generations back is reuse too (no grace can reach it)', async () => {
    const { tokens } = setup({ reuseGrace: '10s' });
    const first = await tokens.logIn({ userId: 'alice' });
    const second = await tokens.refresh(first.refreshToken);
    await tokens.refresh(second.refreshToken);
    expect(await reasonOf(tokens.refresh(first.refreshToken))).toBe('refresh_reused');
  });

  it('inside reuseGrace the previous token gets the successor already issued (same token, no new branch); after it, reuse', async () => {
    const { tokens, seen } = setup({ reuseGrace: 400 });
    const first = await tokens.logIn({ userId: 'alice' });
    const second = await tokens.refresh(first.refreshToken);
    const retried = await tokens.refresh(first.refreshToken);
    expect(retried.refreshToken).toBe(second.refreshToken);
    expect(retried.family).toBe(second.family);
    expect(seen.at(-1)).toMatchObject({ type: 'token_refreshed', reason: 'grace' });
    // The successor still rotates normally.
    const third = await tokens.refresh(second.refreshToken);
    // The grace follows the latest rotation: `second` is now the previous token.
    expect((await tokens.refresh(second.refreshToken)).refreshToken).toBe(third.refreshToken);
    await sleep(500);
    expect(await reasonOf(tokens.refresh(second.refreshToken))).toBe('refresh_reused');
  });

  it('two concurrent refreshes of one token: at most one wins (100 tries)', async () => {
    const { tokens } = setup();
    let wins = 0;
    for (let i = 0; i < 100; i++) {
      const pair = await tokens.logIn({ userId: `racer-${i}` });
      const results = await Promise.allSettled([
        tokens.refresh(pair.refreshToken),
        tokens.refresh(pair.refreshToken),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled').length;
      expect(won).toBeLessThanOrEqual(1);
      wins += won;
    }
    expect(wins).toBeGreaterThan(0);
  });

  it('unknown, malformed and forged tokens are token_invalid, and a forged one leaves its family alive', async () => {
    const { tokens } = setup();
    const pair = await tokens.logIn({ userId: 'alice' });
    for (const bad of [undefined, 42, '', 'x'.repeat(66), `${'A'.repeat(22)}.${'B'.repeat(43)}`]) {
      expect(await reasonOf(tokens.refresh(bad))).toBe('token_invalid');
    }
    // The family handle is public (the sid claim): knowing it must not end the family.
    const forged = `${pair.family}.${'C'.repeat(43)}`;
    expect(await reasonOf(tokens.refresh(forged))).toBe('token_invalid');
    expect(await tokens.logOut(forged)).toBe(false);
    await expect(tokens.refresh(pair.refreshToken)).resolves.toMatchObject({ family: pair.family });
  });

  it('a refresh token is no access token, and an access token no refresh token (token_invalid both ways)', async () => {
    const { tokens } = setup();
    const pair = await tokens.logIn({ userId: 'alice' });
    expect(await reasonOf(tokens.verifyAccessToken(pair.refreshToken))).toBe('token_invalid');
    expect(await reasonOf(tokens.refresh(pair.accessToken))).toBe('token_invalid');
    await expect(tokens.refresh(pair.refreshToken)).resolves.toMatchObject({ family: pair.family });
  });

  it('logOut revokes the family (its access tokens too, under strict) and is idempotent', async () => {
    const { tokens, seen } = setup();
    const pair = await tokens.logIn({ userId: 'alice' });
    seen.length = 0;
    expect(await tokens.logOut(pair.refreshToken)).toBe(true);
    // The redemption that proves possession is no refresh: the logout is the one event.
    expect(seen).toEqual([
      expect.objectContaining({
        type: 'destroyed',
        kind: 'token',
        reason: 'logout',
        handle: pair.family,
        userId: 'alice',
      }),
    ]);
    expect(await reasonOf(tokens.verifyAccessToken(pair.accessToken))).toBe('token_revoked');
    expect(await reasonOf(tokens.refresh(pair.refreshToken))).toBe('token_revoked');
    expect(await tokens.logOut(pair.refreshToken)).toBe(false);
    expect(await tokens.logOut('nonsense')).toBe(false);
  });

  it("revocation 'none' makes no store call: a revoked family's access token works until it expires", async () => {
    const { tokens } = setup({ revocation: 'none' });
    const pair = await tokens.logIn({ userId: 'alice' });
    await tokens.logOut(pair.refreshToken);
    await expect(tokens.verifyAccessToken(pair.accessToken)).resolves.toMatchObject({
      userId: 'alice',
    });
    expect(await reasonOf(tokens.refresh(pair.refreshToken))).toBe('token_revoked');
  });

  it('strict: a family the store no longer holds counts as revoked (fail closed)', async () => {
    const { tokens, store } = setup();
    const pair = await tokens.logIn({ userId: 'alice' });
    await store.destroy(familyStoreKey(pair.family));
    expect(await reasonOf(tokens.verifyAccessToken(pair.accessToken))).toBe('token_revoked');
    // An access token for a family that never existed (signed with our key).
    const { token } = await tokens.issueAccessToken({ userId: 'alice', family: 'no-such-family' });
    expect(await reasonOf(tokens.verifyAccessToken(token))).toBe('token_revoked');
  });

  it('a family past its idle or absolute lifetime is token_expired, and so is its access token', async () => {
    const idle = setup({ refreshIdle: 300, refreshTtl: '1h' });
    const a = await idle.tokens.logIn({ userId: 'alice' });
    await sleep(350);
    expect(await reasonOf(idle.tokens.refresh(a.refreshToken))).toMatch(
      /token_expired|token_invalid/,
    );
    const absolute = setup({ refreshIdle: '1h', refreshTtl: 600 });
    const b = await absolute.tokens.logIn({ userId: 'alice' });
    await sleep(250);
    const b2 = await absolute.tokens.refresh(b.refreshToken); // refreshing does not extend it
    await sleep(400);
    expect(await reasonOf(absolute.tokens.refresh(b2.refreshToken))).toMatch(
      /token_expired|token_invalid/,
    );
    expect(await reasonOf(absolute.tokens.verifyAccessToken(b2.accessToken))).toBe('token_revoked');
  });

  it('SessionService lists token families with kind "token" and revokeAllForUser ends them', async () => {
    const { tokens, sessions } = setup();
    const pair = await tokens.logIn({ userId: 'bob', roles: ['user'] });
    const listed = await sessions.listForUser('bob');
    expect(listed).toEqual([
      expect.objectContaining({ handle: pair.family, kind: 'token', roles: ['user'] }),
    ]);
    const lifetime = listed[0].expiresAt.getTime() - listed[0].createdAt.getTime();
    expect(lifetime).toBe(7 * 86_400_000);
    expect(await sessions.revokeAllForUser('bob')).toBe(1);
    expect(await reasonOf(tokens.verifyAccessToken(pair.accessToken))).toBe('token_revoked');
    expect(await reasonOf(tokens.refresh(pair.refreshToken))).toBe('token_revoked');
    expect(await sessions.listForUser('bob')).toEqual([]);
  });

  it('refuses at startup a store without refresh-token families, saying what to do', () => {
    const bare: SessionStore = {
      get: async () => null,
      set: async () => undefined,
      update: async () => false,
      rotate: async () => ({ status: 'gone' }),
      destroy: async () => undefined,
      revoke: async () => false,
      listForUser: async () => [],
    };
    expect(() => setup({}, bare)).toThrow(/redeemRefreshToken/);
  });

  it('the refresh cookie: HttpOnly, SameSite=Strict, scoped to its path, read back from a Cookie header', async () => {
    const { tokens } = setup({ refreshCookie: { path: '/auth/tokens' } });
    const pair = await tokens.logIn({ userId: 'alice' });
    const header = tokens.refreshCookie(pair.refreshToken);
    expect(header).toMatch(/^refresh_token=/);
    expect(header).toContain('HttpOnly');
    expect(header).toContain('SameSite=Strict');
    expect(header).toContain('Path=/auth/tokens');
    expect(header).toContain(`Max-Age=${7 * 86_400}`);
    expect(header).not.toContain('Secure');
    expect(tokens.refreshTokenFromCookies(`a=b; refresh_token=${pair.refreshToken}`)).toBe(
      pair.refreshToken,
    );
    expect(tokens.refreshTokenFromCookies(undefined)).toBeUndefined();
    expect(tokens.clearedRefreshCookie()).toMatch(/^refresh_token=; .*Expires=Thu, 01 Jan 1970/);
    const secure = setup({ refreshCookie: { secure: true } }).tokens;
    expect(secure.refreshCookie(pair.refreshToken)).toMatch(/^__Secure-refresh_token=.*Secure/);
  });

  it("the refresh cookie's Max-Age rounds up: it never dies before the family's idle end", async () => {
    const { tokens } = setup({ refreshIdle: 1500 });
    const pair = await tokens.logIn({ userId: 'alice' });
    expect(tokens.refreshCookie(pair.refreshToken)).toContain('Max-Age=2;');
  });
});
