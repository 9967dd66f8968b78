import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Module, UseGuards } from '@nestjs/common';
import request from 'supertest';
import { AccessToken } from '../../lib/decorators/access-token.decorator.js';
import { AccessTokenGuard } from '../../lib/guards/access-token.guard.js';
import { SessionModule } from '../../lib/session.module.js';
import type { AccessTokenPrincipal } from '../../lib/tokens/access-token-principal.js';
import { TokenService } from '../../lib/tokens/token.service.js';
import { PLATFORMS, startTestApp, type RunningApp } from '../support/sample-app.harness.js';
import {
  AUDIENCE,
  ISSUER,
  OTHER_SECRET,
  SESSION_SECRET,
  TOKEN_SECRET,
  claims,
  handBuilt,
} from './token-fixtures.js';

@Controller('api')
class ApiController {
  @UseGuards(AccessTokenGuard)
  @Get('me')
  me(@AccessToken() principal: AccessTokenPrincipal) {
    return principal;
  }

  @Get('public')
  open() {
    return { ok: true };
  }
}

@Module({
  imports: [
    SessionModule.forRoot({
      secret: SESSION_SECRET,
      tokens: { secret: TOKEN_SECRET, issuer: ISSUER, audience: AUDIENCE },
    }),
  ],
  controllers: [ApiController],
})
class TokenApp {}

const HS_HEADER = '{"alg":"HS256","typ":"at+jwt"}';

describe.each(PLATFORMS)('AccessTokenGuard on %s', (platform) => {
  let running: RunningApp;
  let token: string;
  let family: string;

  beforeAll(async () => {
    running = await startTestApp(platform, TokenApp);
    const tokens = running.app.get(TokenService);
    ({ accessToken: token, family } = await tokens.logIn({ userId: 'alice', roles: ['user'] }));
  });
  afterAll(() => running?.close());

  const me = (authorization?: string) => {
    const req = request(running.http).get('/api/me');
    return authorization === undefined ? req : req.set('Authorization', authorization);
  };

  it('a valid bearer token reaches the handler with its principal', async () => {
    const res = await me(`Bearer ${token}`).expect(200);
    expect(res.body).toEqual({
      userId: 'alice',
      roles: ['user'],
      family,
      expiresAt: expect.any(String),
    });
    expect(Date.parse(res.body.expiresAt)).toBeGreaterThan(Date.now());
    // No cookie session is created for a bearer request.
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('the scheme is case-insensitive', async () => {
    await me(`bearer ${token}`).expect(200);
    await me(`BEARER ${token}`).expect(200);
  });

  it.each([
    ['no Authorization header', undefined],
    ['another scheme', 'Basic YWxpY2U6cGFzcw=='],
    ['Bearer without a token', 'Bearer'],
    ['an empty header', ''],
  ])('%s: 401 token_missing', async (_name, header) => {
    const res = await me(header).expect(401);
    expect(res.body).toMatchObject({ statusCode: 401, reason: 'token_missing' });
  });

  it('two tokens, or a token with stray characters: 401 token_invalid', async () => {
    for (const header of [`Bearer ${token} ${token}`, `Bearer ${token},x`, `Bearer "${token}"`]) {
      const res = await me(header).expect(401);
      expect(res.body.reason).toBe('token_invalid');
    }
  });

  it('a forged, none-signed or foreign-secret token: 401 token_invalid', async () => {
    const payload = JSON.stringify(claims());
    for (const bad of [
      `${token.slice(0, -3)}abc`,
      handBuilt('{"alg":"none","typ":"at+jwt"}', payload),
      handBuilt(HS_HEADER, payload, OTHER_SECRET),
      // Over the 8 KB cap, under Node's 16 KB header limit (a 100 KB header gets 431 from Node).
      'x'.repeat(10 * 1024),
    ]) {
      const res = await me(`Bearer ${bad}`);
      expect(res.status).toBe(401);
      expect(res.body.reason).toBe('token_invalid');
    }
  });

  it('an expired token: 401 token_expired', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = handBuilt(
      HS_HEADER,
      JSON.stringify(claims({ iat: now - 600, exp: now - 60 })),
      TOKEN_SECRET,
    );
    const res = await me(`Bearer ${expired}`).expect(401);
    expect(res.body).toMatchObject({ statusCode: 401, reason: 'token_expired' });
  });

  it('routes without the guard are not affected', async () => {
    await request(running.http).get('/api/public').set('Authorization', 'Bearer junk').expect(200);
  });

  it("revocation 'strict': after logOut (or reuse) the family's access tokens answer 401 token_revoked at once", async () => {
    const tokens = running.app.get(TokenService);
    const pair = await tokens.logIn({ userId: 'carol', roles: ['user'] });
    await me(`Bearer ${pair.accessToken}`).expect(200);
    await tokens.logOut(pair.refreshToken);
    const res = await me(`Bearer ${pair.accessToken}`).expect(401);
    expect(res.body).toMatchObject({ statusCode: 401, reason: 'token_revoked' });

    const reused = await tokens.logIn({ userId: 'carol' });
    const next = await tokens.refresh(reused.refreshToken);
    await me(`Bearer ${next.accessToken}`).expect(200);
    await expect(tokens.refresh(reused.refreshToken)).rejects.toMatchObject({
      reason: 'refresh_reused',
    });
    expect((await me(`Bearer ${next.accessToken}`).expect(401)).body.reason).toBe('token_revoked');
  });

  it('401s carry the RFC 6750 challenge: bare Bearer without a token, invalid_token with a bad one', async () => {
    expect((await me().expect(401)).headers['www-authenticate']).toBe('Bearer');
    expect((await me('Bearer junk.junk.junk').expect(401)).headers['www-authenticate']).toBe(
      'Bearer error="invalid_token"',
    );
    expect((await me(`Bearer ${token}`).expect(200)).headers['www-authenticate']).toBeUndefined();
  });
});
