/**
 * Hostile access tokens (RFC 8725, OWASP JWT cheat sheet): each must be
 * refused with the right reason, never accepted and never crash.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { SignJWT, exportJWK } from 'jose';
import { TokenVerificationError } from '../../lib/tokens/token.errors.js';
import type { TokenService } from '../../lib/tokens/token.service.js';
import {
  AUDIENCE,
  ISSUER,
  OTHER_SECRET,
  TOKEN_SECRET,
  claims,
  handBuilt,
  keyPair,
  tokenService,
} from './token-fixtures.js';

const HS_HEADER = '{"alg":"HS256","typ":"at+jwt"}';
const now = () => Math.floor(Date.now() / 1000);

async function outcome(service: TokenService, token: string): Promise<string> {
  try {
    await service.verifyAccessToken(token);
    return 'accepted';
  } catch (error) {
    if (error instanceof TokenVerificationError) return error.reason;
    throw error;
  }
}

/** A token signed (by jose) with `key`, its header and claims as given. */
async function signed(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key: Parameters<SignJWT['sign']>[0],
): Promise<string> {
  return new SignJWT(payload).setProtectedHeader(header as never).sign(key);
}

const secretKey = (secret: string) => new TextEncoder().encode(secret);

describe('hostile tokens, HS256 configuration', () => {
  const service = tokenService();
  const good = () => handBuilt(HS_HEADER, JSON.stringify(claims()), TOKEN_SECRET);

  it('the hand-built baseline is accepted (so each case below fails for its own reason)', async () => {
    expect(await outcome(service, good())).toBe('accepted');
  });

  it.each(['none', 'None', 'NONE', 'nOnE'])(
    'alg %s, unsigned or signed, is token_invalid',
    async (alg) => {
      const header = JSON.stringify({ alg, typ: 'at+jwt' });
      const payload = JSON.stringify(claims());
      expect(await outcome(service, handBuilt(header, payload))).toBe('token_invalid');
      expect(await outcome(service, `${handBuilt(header, payload)}.`)).toBe('token_invalid');
      expect(await outcome(service, handBuilt(header, payload, TOKEN_SECRET))).toBe(
        'token_invalid',
      );
    },
  );

  it.each([
    ['HS384', '{"alg":"HS384","typ":"at+jwt"}'],
    ['HS512', '{"alg":"HS512","typ":"at+jwt"}'],
    ['RS256', '{"alg":"RS256","typ":"at+jwt"}'],
  ])('an algorithm other than the pinned one (%s) is token_invalid', async (_alg, header) => {
    expect(await outcome(service, handBuilt(header, JSON.stringify(claims()), TOKEN_SECRET))).toBe(
      'token_invalid',
    );
  });

  it.each([
    ['jwk', { kty: 'oct', k: Buffer.from(OTHER_SECRET).toString('base64url') }],
    ['jku', 'https://attacker.example/jwks.json'],
    ['x5u', 'https://attacker.example/cert.pem'],
    ['x5c', ['MIIB']],
  ])(
    'a header carrying key material (%s) is token_invalid, even when our key signed it',
    async (name, value) => {
      const token = await signed(
        { alg: 'HS256', typ: 'at+jwt', [name]: value },
        claims(),
        secretKey(TOKEN_SECRET),
      );
      expect(await outcome(service, token)).toBe('token_invalid');
    },
  );

  it('a token signed by a foreign secret is token_invalid', async () => {
    expect(
      await outcome(service, handBuilt(HS_HEADER, JSON.stringify(claims()), OTHER_SECRET)),
    ).toBe('token_invalid');
  });

  it('a truncated, extended, altered or missing signature is token_invalid', async () => {
    const token = good();
    const [h, p, s] = token.split('.');
    const flipped = (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    for (const bad of [
      `${h}.${p}.${s.slice(0, -2)}`,
      `${h}.${p}.${s}AA`,
      `${h}.${p}.${flipped}`,
      `${h}.${p}.`,
      `${h}.${p}`,
    ]) {
      expect(await outcome(service, bad)).toBe('token_invalid');
    }
  });

  it('a payload changed after signing is token_invalid', async () => {
    const [h, , s] = good().split('.');
    const forged = Buffer.from(JSON.stringify(claims({ roles: ['admin'] }))).toString('base64url');
    expect(await outcome(service, `${h}.${forged}.${s}`)).toBe('token_invalid');
  });

  it('expired beyond the clock tolerance is token_expired; within it, accepted', async () => {
    const expired = claims({ iat: now() - 400, exp: now() - 60 });
    expect(
      await outcome(service, handBuilt(HS_HEADER, JSON.stringify(expired), TOKEN_SECRET)),
    ).toBe('token_expired');
    const justExpired = claims({ iat: now() - 300, exp: now() - 2 });
    expect(
      await outcome(service, handBuilt(HS_HEADER, JSON.stringify(justExpired), TOKEN_SECRET)),
    ).toBe('accepted');
  });

  it('an expired token with a bad signature is token_invalid, not token_expired', async () => {
    const expired = claims({ exp: now() - 60 });
    expect(
      await outcome(service, handBuilt(HS_HEADER, JSON.stringify(expired), OTHER_SECRET)),
    ).toBe('token_invalid');
  });

  it('nbf in the future beyond the tolerance is token_invalid; within it, accepted', async () => {
    const early = claims({ nbf: now() + 60 });
    expect(await outcome(service, handBuilt(HS_HEADER, JSON.stringify(early), TOKEN_SECRET))).toBe(
      'token_invalid',
    );
    const nearly = claims({ nbf: now() + 2 });
    expect(await outcome(service, handBuilt(HS_HEADER, JSON.stringify(nearly), TOKEN_SECRET))).toBe(
      'accepted',
    );
  });

  it.each([
    ['wrong aud', claims({ aud: 'other-api' })],
    ['aud list without ours', claims({ aud: ['a', 'b'] })],
    ['wrong iss', claims({ iss: 'https://attacker.example' })],
    ['no exp', claims({ exp: undefined })],
    ['no sub', claims({ sub: undefined })],
    ['no sid', claims({ sid: undefined })],
    ['no jti', claims({ jti: undefined })],
    ['roles not a list of strings', claims({ roles: 'admin' })],
    ['empty sub', claims({ sub: '' })],
  ])('%s is token_invalid', async (_name, payload) => {
    expect(
      await outcome(service, handBuilt(HS_HEADER, JSON.stringify(payload), TOKEN_SECRET)),
    ).toBe('token_invalid');
  });

  it.each([
    ['typ JWT', '{"alg":"HS256","typ":"JWT"}'],
    ['no typ', '{"alg":"HS256"}'],
    ['typ of another token kind', '{"alg":"HS256","typ":"refresh+jwt"}'],
    ['unknown crit', '{"alg":"HS256","typ":"at+jwt","crit":["exp-x"],"exp-x":1}'],
    ['b64 false', '{"alg":"HS256","typ":"at+jwt","b64":false,"crit":["b64"]}'],
  ])('%s is token_invalid', async (_name, header) => {
    expect(await outcome(service, handBuilt(header, JSON.stringify(claims()), TOKEN_SECRET))).toBe(
      'token_invalid',
    );
  });

  it.each([
    ['alg twice (HS256 then none)', '{"alg":"HS256","alg":"none","typ":"at+jwt"}'],
    ['alg twice (none then HS256)', '{"alg":"none","alg":"HS256","typ":"at+jwt"}'],
    ['alg twice, one escaped', '{"alg":"none","\\u0061lg":"HS256","typ":"at+jwt"}'],
    ['typ twice', '{"alg":"HS256","typ":"JWT","typ":"at+jwt"}'],
  ])('duplicate header names (%s) are token_invalid, though validly signed', async (_n, header) => {
    expect(await outcome(service, handBuilt(header, JSON.stringify(claims()), TOKEN_SECRET))).toBe(
      'token_invalid',
    );
  });

  it('a duplicate claim (two sub) is token_invalid, though validly signed', async () => {
    const payload = JSON.stringify(claims()).replace(
      '"sub":"alice"',
      '"sub":"alice","sub":"admin"',
    );
    expect(await outcome(service, handBuilt(HS_HEADER, payload, TOKEN_SECRET))).toBe(
      'token_invalid',
    );
  });

  it('a 100 KB token is token_invalid without being parsed; a 9 KB one too', async () => {
    const big = (bytes: number) =>
      handBuilt(HS_HEADER, JSON.stringify(claims({ pad: 'x'.repeat(bytes) })), TOKEN_SECRET);
    expect(await outcome(service, big(100 * 1024))).toBe('token_invalid');
    expect(await outcome(service, big(9 * 1024))).toBe('token_invalid');
    expect(await outcome(service, 'a'.repeat(100 * 1024))).toBe('token_invalid');
  });

  it.each([
    ['empty', ''],
    ['garbage', 'not a token'],
    ['two parts', 'abc.def'],
    ['five parts (JWE shape)', 'a.b.c.d.e'],
    ['header not JSON', `${Buffer.from('nope').toString('base64url')}.e30.c2ln`],
    ['header a JSON array', `${Buffer.from('[1]').toString('base64url')}.e30.c2ln`],
    ['payload a JSON string', `${Buffer.from(HS_HEADER).toString('base64url')}.IngI.c2ln`],
  ])('malformed (%s) is token_invalid', async (_name, token) => {
    expect(await outcome(service, token)).toBe('token_invalid');
  });
});

describe.each(['EdDSA', 'ES256'] as const)('hostile tokens, %s configuration', (alg) => {
  const ours = keyPair(alg);
  const attacker = keyPair(alg);
  const service = tokenService({
    secret: undefined,
    keys: { alg, kid: 'k1', privateKey: ours.privateKey },
  });

  it('key confusion: HS256 signed with our public key (PEM, DER or JWK x) is token_invalid', async () => {
    const pem = ours.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const der = ours.publicKey.export({ type: 'spki', format: 'der' });
    const x = Buffer.from((await exportJWK(ours.publicKey)).x!, 'base64url');
    for (const secret of [pem, der, x]) {
      const header = '{"alg":"HS256","typ":"at+jwt","kid":"k1"}';
      expect(await outcome(service, handBuilt(header, JSON.stringify(claims()), secret))).toBe(
        'token_invalid',
      );
    }
  });

  it('an attacker key embedded as jwk (with our kid or none) is token_invalid', async () => {
    const jwk = await exportJWK(attacker.publicKey);
    for (const header of [
      { alg, typ: 'at+jwt', kid: 'k1', jwk },
      { alg, typ: 'at+jwt', jwk },
    ]) {
      expect(await outcome(service, await signed(header, claims(), attacker.privateKey))).toBe(
        'token_invalid',
      );
    }
  });

  it('a jku / x5u pointing at an attacker is token_invalid', async () => {
    for (const extra of [
      { jku: 'https://attacker.example/jwks' },
      { x5u: 'https://attacker.example/c' },
    ]) {
      const token = await signed(
        { alg, typ: 'at+jwt', kid: 'k1', ...extra },
        claims(),
        ours.privateKey,
      );
      expect(await outcome(service, token)).toBe('token_invalid');
    }
  });

  it.each([
    '../../etc/passwd',
    '/dev/null',
    "' OR '1'='1",
    'k1; DROP TABLE keys --',
    'k1\u0000',
    '',
  ])('kid injection (%j), signed by an attacker, is token_invalid', async (kid) => {
    const token = await signed({ alg, typ: 'at+jwt', kid }, claims(), attacker.privateKey);
    expect(await outcome(service, token)).toBe('token_invalid');
  });

  it('a token without kid, or with a non-string kid, is token_invalid', async () => {
    for (const header of [
      { alg, typ: 'at+jwt' },
      { alg, typ: 'at+jwt', kid: 1 },
    ]) {
      expect(await outcome(service, await signed(header, claims(), ours.privateKey))).toBe(
        'token_invalid',
      );
    }
  });

  it('a token of the other asymmetric algorithm is token_invalid', async () => {
    const other = alg === 'EdDSA' ? 'ES256' : 'EdDSA';
    const token = await signed(
      { alg: other, typ: 'at+jwt', kid: 'k1' },
      claims(),
      keyPair(other).privateKey,
    );
    expect(await outcome(service, token)).toBe('token_invalid');
  });

  it('alg none with our kid is token_invalid', async () => {
    for (const none of ['none', 'None', 'NONE', 'nOnE']) {
      const header = JSON.stringify({ alg: none, typ: 'at+jwt', kid: 'k1' });
      expect(await outcome(service, handBuilt(header, JSON.stringify(claims())))).toBe(
        'token_invalid',
      );
    }
  });

  it('our own token still passes (baseline) and an HS256 config never accepts it', async () => {
    const token = await signed({ alg, typ: 'at+jwt', kid: 'k1' }, claims(), ours.privateKey);
    expect(await outcome(service, token)).toBe('accepted');
    expect(await outcome(tokenService(), token)).toBe('token_invalid');
  });
});

describe('issuer/audience come from the configuration', () => {
  let service: TokenService;
  beforeAll(() => {
    service = tokenService({ issuer: 'iss-b', audience: 'aud-b' });
  });
  it('a token of another issuer/audience configuration is token_invalid', async () => {
    const { token } = await tokenService().issueAccessToken({ userId: 'u', family: 'f' });
    expect(await outcome(service, token)).toBe('token_invalid');
    expect(ISSUER).not.toBe('iss-b');
    expect(AUDIENCE).not.toBe('aud-b');
  });
});
