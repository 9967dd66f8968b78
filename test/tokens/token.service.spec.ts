import { describe, expect, it } from '@jest/globals';
import { decodeJwt, decodeProtectedHeader, jwtVerify, createLocalJWKSet } from 'jose';
import { resolveSessionOptions } from '../../lib/session.options.js';
import { SessionOptionsError } from '../../lib/session.errors.js';
import { TokenVerificationError, TokensNotConfiguredError } from '../../lib/tokens/token.errors.js';
import { TokenService } from '../../lib/tokens/token.service.js';
import {
  AUDIENCE,
  ISSUER,
  OTHER_SECRET,
  SESSION_SECRET,
  TOKEN_SECRET,
  keyPair,
  serviceFor,
  tokenService,
} from './token-fixtures.js';

const SUBJECT = { userId: 'alice', roles: ['user', 'admin'], family: 'fam-123' };

async function reasonOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TokenVerificationError) return error.reason;
    throw error;
  }
  return 'accepted';
}

describe('TokenService', () => {
  it('HS256: issues a token that verifies back to the principal, with the claims and headers of an at+jwt', async () => {
    const service = tokenService();
    const before = Date.now();
    const { token, expiresIn } = await service.issueAccessToken(SUBJECT);
    expect(expiresIn).toBe(300);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'at+jwt' });
    const payload = decodeJwt(token);
    expect(payload).toMatchObject({ iss: ISSUER, aud: AUDIENCE, sub: 'alice', sid: 'fam-123' });
    expect(payload.roles).toEqual(['user', 'admin']);
    expect(typeof payload.jti).toBe('string');
    expect(payload.jti).not.toBe(decodeJwt((await service.issueAccessToken(SUBJECT)).token).jti);
    expect(payload.exp! * 1000).toBeGreaterThanOrEqual(before + 300_000);

    const principal = await service.verifyAccessToken(token);
    expect(principal).toEqual({
      userId: 'alice',
      roles: ['user', 'admin'],
      family: 'fam-123',
      expiresAt: new Date(payload.exp! * 1000),
    });
  });

  it.each(['EdDSA', 'ES256'] as const)(
    '%s: round trip with kid, and the JWKS verifies the token elsewhere',
    async (alg) => {
      const { privateKey } = keyPair(alg);
      const service = tokenService({ secret: undefined, keys: { alg, kid: 'k1', privateKey } });
      const { token } = await service.issueAccessToken(SUBJECT);
      expect(decodeProtectedHeader(token)).toEqual({ alg, typ: 'at+jwt', kid: 'k1' });
      await expect(service.verifyAccessToken(token)).resolves.toMatchObject({ userId: 'alice' });

      const jwks = service.publicJwks();
      expect(jwks.keys).toHaveLength(1);
      expect(jwks.keys[0]).toMatchObject({ kid: 'k1', alg, use: 'sig' });
      expect(jwks.keys[0]).not.toHaveProperty('d'); // never the private part
      const elsewhere = await jwtVerify(token, createLocalJWKSet(jwks), {
        issuer: ISSUER,
        audience: AUDIENCE,
      });
      expect(elsewhere.payload.sub).toBe('alice');
    },
  );

  it('key rotation: a token of a previous key (in publicKeys) verifies by its kid; JWK keys are accepted', async () => {
    const old = keyPair('EdDSA');
    const current = keyPair('EdDSA');
    const before = tokenService({
      secret: undefined,
      keys: { alg: 'EdDSA', kid: 'old', privateKey: old.privateKey.export({ format: 'jwk' }) },
    });
    const after = tokenService({
      secret: undefined,
      keys: {
        alg: 'EdDSA',
        kid: 'new',
        privateKey: current.privateKey,
        publicKeys: [{ kid: 'old', key: old.publicKey.export({ format: 'jwk' }) }],
      },
    });
    const { token } = await before.issueAccessToken(SUBJECT);
    await expect(after.verifyAccessToken(token)).resolves.toMatchObject({ userId: 'alice' });
    expect(after.publicJwks().keys.map((k) => k.kid)).toEqual(['new', 'old']);
  });

  it('secret rotation: the first secret signs, a token of the second still verifies, a dropped one does not', async () => {
    const old = tokenService({ secret: OTHER_SECRET });
    const rotated = tokenService({ secret: [TOKEN_SECRET, OTHER_SECRET] });
    const { token } = await old.issueAccessToken(SUBJECT);
    await expect(rotated.verifyAccessToken(token)).resolves.toMatchObject({ userId: 'alice' });
    const fresh = (await rotated.issueAccessToken(SUBJECT)).token;
    await expect(tokenService().verifyAccessToken(fresh)).resolves.toMatchObject({
      userId: 'alice',
    });
    expect(await reasonOf(tokenService().verifyAccessToken(token))).toBe('token_invalid');
  });

  it('expiresIn is whole seconds rounded up, and exp is never earlier than now + accessTtl', async () => {
    for (const [accessTtl, expected] of [
      [1500, 2],
      ['5m', 300],
      [1, 1],
      ['90s', 90],
    ] as const) {
      const before = Date.now();
      const { token, expiresIn } = await tokenService({ accessTtl }).issueAccessToken(SUBJECT);
      expect(expiresIn).toBe(expected);
      const ttlMs = typeof accessTtl === 'number' ? accessTtl : expected * 1000;
      expect(decodeJwt(token).exp! * 1000).toBeGreaterThanOrEqual(before + ttlMs);
    }
  });

  it('a verified token is verified once, then looked up until it expires; failures are never remembered', async () => {
    let checks = 0;
    class CountingTokenService extends TokenService {
      protected override verifySignatureAndClaims(
        ...args: Parameters<TokenService['verifySignatureAndClaims']>
      ) {
        checks++;
        return super.verifySignatureAndClaims(...args);
      }
    }
    const plain = tokenService();
    const counting = Object.setPrototypeOf(plain, CountingTokenService.prototype) as TokenService;
    const { token } = await counting.issueAccessToken(SUBJECT);
    const first = await counting.verifyAccessToken(token);
    const second = await counting.verifyAccessToken(token);
    expect(checks).toBe(1);
    expect(second).toBe(first);
    // Shared between requests, so frozen: a handler cannot change what the next one sees.
    expect(Object.isFrozen(first) && Object.isFrozen(first.roles)).toBe(true);
    const forged = token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA');
    expect(await reasonOf(counting.verifyAccessToken(forged))).toBe('token_invalid');
    expect(await reasonOf(counting.verifyAccessToken(forged))).toBe('token_invalid');
    expect(checks).toBe(3);
  });

  it('an expired token is token_expired, also after it was verified while valid; inside the clock tolerance it still verifies', async () => {
    const service = tokenService({ accessTtl: 1, clockTolerance: 0 });
    const { token } = await service.issueAccessToken(SUBJECT);
    await expect(service.verifyAccessToken(token)).resolves.toMatchObject({ userId: 'alice' });
    await new Promise((resolve) => setTimeout(resolve, 2100));
    expect(await reasonOf(service.verifyAccessToken(token))).toBe('token_expired');
    const tolerant = tokenService({ accessTtl: 1, clockTolerance: '10s' });
    await expect(tolerant.verifyAccessToken(token)).resolves.toMatchObject({ userId: 'alice' });
  });

  it('without a tokens group, every method throws an error that says what to configure', async () => {
    const service = serviceFor({ secret: SESSION_SECRET });
    await expect(service.issueAccessToken(SUBJECT)).rejects.toThrow(TokensNotConfiguredError);
    await expect(service.verifyAccessToken('x')).rejects.toThrow(/configure tokens:/);
    expect(() => service.publicJwks()).toThrow(/configure tokens:/);
  });

  it('publicJwks() refuses HS256 (a secret is never published)', () => {
    expect(() => tokenService().publicJwks()).toThrow(/asymmetric keys/);
  });
});

describe('tokens options', () => {
  const problems = (tokens: unknown): string[] => {
    try {
      resolveSessionOptions({ secret: SESSION_SECRET, tokens: tokens as never });
    } catch (error) {
      if (error instanceof SessionOptionsError) return [...error.problems];
      throw error;
    }
    return [];
  };

  it('defaults: accessTtl 5m, clockTolerance 5s, revocation strict, refresh 14d / idle 7d, no grace, cookie on /tokens', () => {
    const resolved = resolveSessionOptions({
      secret: SESSION_SECRET,
      tokens: { secret: TOKEN_SECRET, issuer: ISSUER, audience: AUDIENCE },
    });
    expect(resolved.tokens).toMatchObject({
      alg: 'HS256',
      accessTtlMs: 300_000,
      clockToleranceMs: 5_000,
      revocation: 'strict',
      refreshTtlMs: 14 * 86_400_000,
      refreshIdleMs: 7 * 86_400_000,
      reuseGraceMs: 0,
      refreshCookie: { name: 'refresh_token', path: '/tokens', secure: false },
    });
    expect(resolveSessionOptions({ secret: SESSION_SECRET }).tokens).toBeUndefined();
  });

  it('names every problem at once', () => {
    expect(problems({ secret: 'short', accessTtl: 'soon', clockTolerance: -1 })).toEqual([
      'tokens.secret must be at least 32 characters (every entry of the list)',
      'tokens.issuer is required (a string, the iss claim)',
      'tokens.audience is required (a string, the aud claim)',
      "tokens.accessTtl must be a positive duration such as '5m'",
      "tokens.clockTolerance must be 0 or a duration such as '5s' (got -1)",
    ]);
  });

  it('refresh options: bad values are named, each with what it takes', () => {
    const base = { secret: TOKEN_SECRET, issuer: ISSUER, audience: AUDIENCE };
    expect(
      problems({
        ...base,
        revocation: 'sometimes',
        refreshTtl: 'forever',
        refreshIdle: -5,
        reuseGrace: '10 seconds',
        refreshCookie: { name: '__Host-rt', pth: '/x' },
      }),
    ).toEqual([
      "tokens.revocation must be 'strict' or 'none' (got \"sometimes\")",
      "tokens.refreshTtl must be a positive duration such as '14d'",
      "tokens.refreshIdle must be a positive duration such as '7d'",
      "tokens.reuseGrace must be 0 or a duration such as '10s'",
      "tokens.refreshCookie: unknown option 'pth' (known: name, path, secure)",
    ]);
    expect(problems({ ...base, refreshCookie: { name: '__Host-rt' } })).toEqual([
      "tokens.refreshCookie.name cannot start with '__Host-' (it needs Path=/, and the refresh cookie is scoped to its path)",
    ]);
    expect(problems({ ...base, revocation: 'none', reuseGrace: 0, refreshTtl: '30d' })).toEqual([]);
  });

  it('key material: exactly one of secret/keys, keys matching their alg', () => {
    const base = { issuer: ISSUER, audience: AUDIENCE };
    const ed = keyPair('EdDSA');
    expect(problems(base)).toEqual(['tokens needs a secret (HS256) or keys (EdDSA/ES256)']);
    expect(
      problems({
        ...base,
        secret: TOKEN_SECRET,
        keys: { alg: 'EdDSA', kid: 'k', privateKey: ed.privateKey },
      }),
    ).toEqual(['tokens takes secret or keys, not both']);
    expect(
      problems({ ...base, keys: { alg: 'ES256', kid: 'k', privateKey: ed.privateKey } }),
    ).toEqual(['tokens.keys.privateKey is not a P-256 key']);
    expect(
      problems({ ...base, keys: { alg: 'EdDSA', kid: 'k', privateKey: ed.publicKey } }),
    ).toEqual(['tokens.keys.privateKey must be a private KeyObject or a private JWK']);
    expect(
      problems({ ...base, keys: { alg: 'RS256', kid: 'k', privateKey: ed.privateKey } }),
    ).toEqual(["tokens.keys.alg must be 'EdDSA' or 'ES256'"]);
    expect(problems('yes')).toEqual([
      'tokens must be an object such as { secret, issuer, audience }',
    ]);
  });
});
