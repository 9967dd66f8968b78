import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SessionEvents } from '../../lib/events/session-events.js';
import type { SessionTokenOptions } from '../../lib/options/token-options.js';
import { SessionEngine } from '../../lib/session/session.engine.js';
import { resolveSessionOptions, type SessionModuleOptions } from '../../lib/session.options.js';
import { TokenService } from '../../lib/tokens/token.service.js';

export const SESSION_SECRET = 'token-spec-session-secret-0123456789-abc';
export const TOKEN_SECRET = 'token-spec-token-secret-0123456789-abcdef';
export const OTHER_SECRET = 'token-spec-other-secret-0123456789-abcdef';
export const ISSUER = 'https://auth.example.test';
export const AUDIENCE = 'api.example.test';

/** A TokenService outside Nest, wired as SessionModule wires it (its own MemoryStore). */
export function serviceFor(options: SessionModuleOptions): TokenService {
  const resolved = resolveSessionOptions(options);
  const events = new SessionEvents();
  return new TokenService(resolved, new SessionEngine(resolved, events), events);
}

/**
 * A TokenService on HS256. Revocation `'none'` unless asked: these cases sign
 * access tokens for families that exist in no store.
 */
export function tokenService(tokens: Partial<SessionTokenOptions> = {}): TokenService {
  return serviceFor({
    secret: SESSION_SECRET,
    tokens: {
      secret: TOKEN_SECRET,
      issuer: ISSUER,
      audience: AUDIENCE,
      revocation: 'none',
      ...tokens,
    },
  });
}

export function keyPair(alg: 'EdDSA' | 'ES256'): { privateKey: KeyObject; publicKey: KeyObject } {
  return alg === 'EdDSA'
    ? generateKeyPairSync('ed25519')
    : generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

/** Good claims for a hand-built token, `overrides` merged (a `undefined` value drops the claim). */
export function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  const base: Record<string, unknown> = {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'alice',
    sid: 'family-1',
    jti: 'jti-1',
    iat: now,
    exp: now + 300,
    roles: ['user'],
    ...overrides,
  };
  for (const key of Object.keys(base)) if (base[key] === undefined) delete base[key];
  return base;
}

/**
 * A compact JWS built by hand, header and payload given as raw JSON text (so
 * duplicate names survive), HMAC-SHA256 signed with `secret` (or with an
 * empty signature when `secret` is undefined).
 */
export function handBuilt(
  headerJson: string,
  payloadJson: string,
  secret?: string | Buffer,
): string {
  const input = `${b64(headerJson)}.${b64(payloadJson)}`;
  const signature =
    secret === undefined ? '' : createHmac('sha256', secret).update(input).digest('base64url');
  return `${input}.${signature}`;
}
