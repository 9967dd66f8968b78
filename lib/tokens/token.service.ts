import { Inject, Injectable } from '@nestjs/common';
import { randomBytes, type KeyObject } from 'node:crypto';
import {
  jwtVerify,
  SignJWT,
  type JWK,
  type JWTHeaderParameters,
  type JWTPayload,
  type JWTVerifyResult,
} from 'jose';
import type { ResolvedTokenOptions } from '../options/token-options.js';
import { RESOLVED_SESSION_OPTIONS } from '../session.constants.js';
import type { ResolvedSessionOptions } from '../session.options.js';
import type { AccessTokenPrincipal } from './access-token-principal.js';
import { precheckProblem } from './jws-precheck.js';
import { TokenVerificationError, TokensNotConfiguredError } from './token.errors.js';

/** The `typ` header of access tokens (RFC 9068), so no other JWT of ours passes for one. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';

/** What an access token is issued for. */
export interface AccessTokenSubject {
  userId: string;
  roles?: string[];
  /** The token family handle (`sid` claim). */
  family: string;
}

/** A signed access token and its lifetime in seconds (OAuth's `expires_in`). */
export interface IssuedAccessToken {
  token: string;
  expiresIn: number;
}

/** The public half of an asymmetric key set, as served at `/.well-known/jwks.json`. */
export interface PublicJwks {
  keys: JWK[];
}

/**
 * Signs and verifies access tokens with `jose`. Verification pins the one
 * configured algorithm, picks the key itself (by `kid` among its own keys,
 * never from the token's headers), and checks `typ`, `iss`, `aud`, `exp`,
 * `nbf` with the clock tolerance. Stateless: revocation is `'none'`.
 */
@Injectable()
export class TokenService {
  private readonly tokens?: ResolvedTokenOptions;
  private readonly keysByKid = new Map<string, KeyObject>();

  constructor(@Inject(RESOLVED_SESSION_OPTIONS) options: ResolvedSessionOptions) {
    this.tokens = options.tokens;
    for (const { kid, key } of this.tokens?.verificationKeys ?? []) {
      if (kid !== undefined) this.keysByKid.set(kid, key);
    }
  }

  /** Signs an access token for `subject`, valid for `accessTtl`. */
  async issueAccessToken(subject: AccessTokenSubject): Promise<IssuedAccessToken> {
    const tokens = this.config();
    const nowMs = Date.now();
    // Whole seconds, rounded up: the token never lives shorter than configured.
    const expiresIn = Math.ceil(tokens.accessTtlMs / 1000);
    const exp = Math.ceil(nowMs / 1000) + expiresIn;
    const token = await new SignJWT({ sid: subject.family, roles: [...(subject.roles ?? [])] })
      .setProtectedHeader({ alg: tokens.alg, typ: ACCESS_TOKEN_TYPE, kid: tokens.signingKid })
      .setIssuer(tokens.issuer)
      .setAudience(tokens.audience)
      .setSubject(subject.userId)
      .setJti(randomBytes(16).toString('base64url'))
      .setIssuedAt(Math.floor(nowMs / 1000))
      .setExpirationTime(exp)
      .sign(tokens.signingKey);
    return { token, expiresIn };
  }

  /**
   * The principal of a valid access token; otherwise throws a
   * {@link TokenVerificationError} with reason `token_expired` (signature
   * good, `exp` past) or `token_invalid` (anything else).
   */
  async verifyAccessToken(token: string): Promise<AccessTokenPrincipal> {
    const tokens = this.config();
    if (typeof token !== 'string')
      throw new TokenVerificationError('token_invalid', 'not a string');
    const problem = precheckProblem(token);
    if (problem) throw new TokenVerificationError('token_invalid', problem);
    const { payload } = await this.verifySignatureAndClaims(token, tokens);
    return principalOf(payload);
  }

  /** The public keys (signing key first) as a JWKS; only for EdDSA/ES256 key sets. */
  publicJwks(): PublicJwks {
    const tokens = this.config();
    if (tokens.alg === 'HS256') {
      throw new Error(
        'publicJwks() needs asymmetric keys: HS256 secrets must never be published. ' +
          'Potential solutions: configure tokens.keys ({ alg: "EdDSA" | "ES256", kid, privateKey }).',
      );
    }
    return {
      keys: tokens.verificationKeys.map(({ kid, key }) => ({
        ...(key.export({ format: 'jwk' }) as JWK),
        kid,
        alg: tokens.alg,
        use: 'sig',
      })),
    };
  }

  /** jose's verification with every check pinned; a user may override to add checks. */
  protected async verifySignatureAndClaims(
    token: string,
    tokens: ResolvedTokenOptions,
  ): Promise<JWTVerifyResult> {
    const options = {
      algorithms: [tokens.alg],
      issuer: tokens.issuer,
      audience: tokens.audience,
      typ: ACCESS_TOKEN_TYPE,
      clockTolerance: tokens.clockToleranceMs / 1000,
      requiredClaims: ['exp', 'iat', 'sub', 'jti', 'sid'],
    };
    try {
      if (tokens.alg !== 'HS256') {
        return await jwtVerify(
          token,
          (header: JWTHeaderParameters) => this.keyFor(header.kid),
          options,
        );
      }
      // Secret rotation: try each secret; only a bad signature moves on to the next one.
      const secrets = tokens.verificationKeys;
      for (let i = 0; ; i++) {
        try {
          return await jwtVerify(token, secrets[i].key, options);
        } catch (error) {
          if (
            codeOf(error) !== 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' ||
            i === secrets.length - 1
          ) {
            throw error;
          }
        }
      }
    } catch (error) {
      if (error instanceof TokenVerificationError) throw error;
      const code = codeOf(error);
      throw new TokenVerificationError(
        code === 'ERR_JWT_EXPIRED' ? 'token_expired' : 'token_invalid',
        error instanceof Error ? error.message : String(error),
      );
    }
  }

  private keyFor(kid: unknown): KeyObject {
    // A Map lookup: whatever the kid holds (paths, SQL), it only ever names one of our keys.
    const key = typeof kid === 'string' ? this.keysByKid.get(kid) : undefined;
    if (!key) throw new TokenVerificationError('token_invalid', 'unknown kid');
    return key;
  }

  private config(): ResolvedTokenOptions {
    if (!this.tokens) throw new TokensNotConfiguredError();
    return this.tokens;
  }
}

function codeOf(error: unknown): string | undefined {
  return (error as { code?: string } | null)?.code;
}

function principalOf(payload: JWTPayload): AccessTokenPrincipal {
  const { sub, sid, roles, exp } = payload;
  if (typeof sub !== 'string' || sub === '') {
    throw new TokenVerificationError('token_invalid', 'sub must be a non-empty string');
  }
  if (typeof sid !== 'string' || sid === '') {
    throw new TokenVerificationError('token_invalid', 'sid must be a non-empty string');
  }
  if (roles !== undefined && !(Array.isArray(roles) && roles.every((r) => typeof r === 'string'))) {
    throw new TokenVerificationError('token_invalid', 'roles must be a list of strings');
  }
  return {
    userId: sub,
    roles: (roles as string[] | undefined) ?? [],
    family: sid,
    expiresAt: new Date(exp! * 1000),
  };
}
