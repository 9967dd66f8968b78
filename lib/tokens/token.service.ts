import type { EventOrigin } from '../events/event-origin.js';
import type { PlatformRequest } from '../http/platform-request.js';
import { requestOrigin } from '../http/request-origin.js';
import { Inject, Injectable } from '@nestjs/common';
import { parseCookie, stringifySetCookie } from 'cookie';
import { randomBytes, type KeyObject } from 'node:crypto';
import {
  jwtVerify,
  SignJWT,
  type JWK,
  type JWTHeaderParameters,
  type JWTPayload,
  type JWTVerifyResult,
} from 'jose';
import { SessionEvents } from '../events/session-events.js';
import type { ResolvedTokenOptions } from '../options/token-options.js';
import { SessionEngine } from '../session/session.engine.js';
import { RESOLVED_SESSION_OPTIONS } from '../session.constants.js';
import { asHttpOutage, TokenUnauthorizedException } from '../session.exceptions.js';
import type { ResolvedSessionOptions } from '../session.options.js';
import type { AccessTokenPrincipal } from './access-token-principal.js';
import { precheckProblem } from './jws-precheck.js';
import { RefreshFamilies, type RedeemedFamily } from './refresh-families.js';
import { TokenVerificationError, TokensNotConfiguredError } from './token.errors.js';
import { VerifiedTokenCache } from './verified-token-cache.js';

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

/** What a token log-in or refresh answers: the pair, as the sample's routes send it. */
export interface TokenPair {
  /** A signed access token (JWT), for `Authorization: Bearer`. */
  accessToken: string;
  /** Opaque, single use: redeem it with `refresh()` for the next pair. */
  refreshToken: string;
  /** Seconds the access token lives (OAuth's `expires_in`), rounded up. */
  expiresIn: number;
  /** The family handle (`sid` claim): what listings show and revocation acts on. */
  family: string;
}

/** What `logIn`, `refresh` and `logOut` may be told about the request they serve. */
export interface TokenRequestOptions {
  /**
   * The platform request (Express `req`, Fastify `request`): its client
   * address (honouring `bruteForce.trustProxy`) and User-Agent go on the
   * events, as on cookie sessions' events.
   */
  request?: object;
}

/** The public half of an asymmetric key set, as served at `/.well-known/jwks.json`. */
export interface PublicJwks {
  keys: JWK[];
}

/**
 * Token sessions: short-lived access tokens (JWT, signed and verified with
 * `jose`) and the refresh-token families behind them, in the session store.
 *
 * Verification pins the one configured algorithm, picks the key itself (by
 * `kid` among its own keys, never from the token's headers), and checks
 * `typ`, `iss`, `aud`, `exp`, `nbf` with the clock tolerance; with
 * revocation `'strict'` it also reads the token's family from the store.
 */
@Injectable()
export class TokenService {
  private readonly tokens?: ResolvedTokenOptions;
  private readonly keysByKid = new Map<string, KeyObject>();
  private readonly families?: RefreshFamilies;
  private readonly verified?: VerifiedTokenCache;
  /** Proxies in front of the app (the events' client address), as the cookie path counts them. */
  private readonly trustProxy: number;

  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) options: ResolvedSessionOptions,
    engine: SessionEngine,
    events: SessionEvents,
  ) {
    this.tokens = options.tokens;
    this.trustProxy = options.bruteForce?.trustProxy ?? 0;
    for (const { kid, key } of this.tokens?.verificationKeys ?? []) {
      if (kid !== undefined) this.keysByKid.set(kid, key);
    }
    if (this.tokens) {
      this.verified = new VerifiedTokenCache(this.tokens.clockToleranceMs);
      this.families = new RefreshFamilies({
        store: engine.store,
        outage: engine.outage,
        events,
        tokens: this.tokens,
        endedRetentionMs: options.endedRetentionMs,
      });
    }
  }

  /**
   * Logs a user in with tokens: starts a refresh-token family and answers
   * its first pair. Store outage: 503 `store_unavailable`. `options.request`
   * (the platform request: Express `req`, Fastify `request`), when given,
   * puts its client address and User-Agent on the events, as cookie
   * sessions' events carry them; the same for `refresh` and `logOut`.
   */
  async logIn(
    user: { userId: string | number; roles?: readonly string[] },
    options: TokenRequestOptions = {},
  ): Promise<TokenPair> {
    const families = this.familiesOrThrow();
    const origin = this.originOf(options);
    const family = await this.storeCall(() =>
      families.create(String(user.userId), user.roles ?? [], origin),
    );
    return this.pairFor(family);
  }

  /**
   * Redeems a refresh token for the next pair; the token presented is used
   * up. 401 (`TokenUnauthorizedException`) with `reason` `token_invalid`
   * (unknown or malformed), `token_expired`, `token_revoked` or
   * `refresh_reused` (a rotated token came back: the family is revoked,
   * every token of it with it).
   */
  async refresh(refreshToken: unknown, options: TokenRequestOptions = {}): Promise<TokenPair> {
    const families = this.familiesOrThrow();
    const origin = this.originOf(options);
    try {
      return await this.pairFor(await this.storeCall(() => families.redeem(refreshToken, origin)));
    } catch (error) {
      if (error instanceof TokenVerificationError)
        throw new TokenUnauthorizedException(error.reason);
      throw error;
    }
  }

  /**
   * Logs a token session out: revokes the family of `refreshToken` (its
   * access tokens stop working at once with revocation `'strict'`). Answers
   * whether a live family ended; an unknown token is not an error.
   */
  async logOut(refreshToken: unknown, options: TokenRequestOptions = {}): Promise<boolean> {
    const families = this.familiesOrThrow();
    const origin = this.originOf(options);
    return this.storeCall(() => families.revoke(refreshToken, origin));
  }

  /** The events' request metadata, from the request the caller passed (none: none). */
  private originOf({ request }: TokenRequestOptions): EventOrigin | undefined {
    if (request === undefined) return undefined;
    return requestOrigin(request as PlatformRequest, this.trustProxy);
  }

  /** The `Set-Cookie` value that hands `refreshToken` to a browser (HttpOnly, SameSite=Strict, its path). */
  refreshCookie(refreshToken: string): string {
    const tokens = this.config();
    const { name, path, secure } = tokens.refreshCookie;
    return stringifySetCookie({
      name,
      value: refreshToken,
      httpOnly: true,
      secure,
      sameSite: 'strict',
      path,
      // Rounded up: the cookie never dies before the family could (the store decides the end).
      maxAge: Math.ceil(Math.min(tokens.refreshTtlMs, tokens.refreshIdleMs) / 1000),
    });
  }

  /** The `Set-Cookie` value that deletes the refresh cookie (on logout). */
  clearedRefreshCookie(): string {
    const { name, path, secure } = this.config().refreshCookie;
    return stringifySetCookie({
      name,
      value: '',
      httpOnly: true,
      secure,
      sameSite: 'strict',
      path,
      expires: new Date(0),
    });
  }

  /** The refresh token in a `Cookie` header, if any. */
  refreshTokenFromCookies(cookieHeader: string | undefined): string | undefined {
    if (typeof cookieHeader !== 'string' || cookieHeader.length > 8192) return undefined;
    const value = parseCookie(cookieHeader)[this.config().refreshCookie.name];
    return value === '' ? undefined : value;
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
    let principal = this.verified!.get(token, Date.now());
    if (principal === undefined) {
      const problem = precheckProblem(token);
      if (problem) throw new TokenVerificationError('token_invalid', problem);
      const { payload } = await this.verifySignatureAndClaims(token, tokens);
      principal = this.verified!.add(token, principalOf(payload));
    }
    if (
      tokens.revocation === 'strict' &&
      !(await this.families!.isLive(principal.family, principal.userId))
    ) {
      throw new TokenVerificationError('token_revoked', 'family revoked or gone');
    }
    return principal;
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

  private async pairFor({ record, refreshToken }: RedeemedFamily): Promise<TokenPair> {
    const access = await this.issueAccessToken({
      userId: record.userId!,
      roles: record.roles,
      family: record.handle,
    });
    return {
      accessToken: access.token,
      refreshToken,
      expiresIn: access.expiresIn,
      family: record.handle,
    };
  }

  /** A store call; an outage becomes the HTTP 503, as on the cookie path. */
  private async storeCall<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw asHttpOutage(error);
    }
  }

  private familiesOrThrow(): RefreshFamilies {
    this.config();
    return this.families!;
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
