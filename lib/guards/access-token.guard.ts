import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import {
  asHttpOutage,
  TokenUnauthorizedException,
  type TokenUnauthorizedReason,
} from '../session.exceptions.js';
import {
  ACCESS_TOKEN_PRINCIPAL,
  type AccessTokenPrincipal,
  type PrincipalHolder,
} from '../tokens/access-token-principal.js';
import { TokenVerificationError } from '../tokens/token.errors.js';
import { TokenService } from '../tokens/token.service.js';

/** `Bearer <token>`: scheme case-insensitive (RFC 9110 §11.1), exactly one b64token (RFC 6750 §2.1). */
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
/** The scheme with a credential after it; `Bearer` alone carries no token. */
const BEARER_SCHEME = /^bearer +\S/i;

/** Express's `res` and Fastify's `reply` both have `header(name, value)`. */
interface HeaderSetter {
  header(name: string, value: string): unknown;
}

/**
 * The RFC 6750 §3 challenge: no error code when the request carried no
 * token, `invalid_token` for one that does not verify, expired or revoked.
 */
function challengeFor(reason: TokenUnauthorizedReason): string {
  return reason === 'token_missing' ? 'Bearer' : 'Bearer error="invalid_token"';
}

interface HeaderHolder {
  headers: Record<string, string | string[] | undefined>;
}

/**
 * Lets a request through only with a valid `Authorization: Bearer` access
 * token, and leaves its principal for `@AccessToken()`; otherwise 401 with
 * `reason` `token_missing`, `token_invalid`, `token_expired` or (revocation
 * `'strict'`: its family was revoked or is gone) `token_revoked`. With
 * `'strict'` and the store down: 503 `store_unavailable`.
 */
@Injectable()
export class AccessTokenGuard implements CanActivate {
  constructor(protected readonly tokens: TokenService) {}

  async canActivate(executionContext: ExecutionContext): Promise<boolean> {
    if (executionContext.getType() !== 'http') {
      throw new Error(
        `AccessTokenGuard works in HTTP requests only, not in '${executionContext.getType()}' contexts.`,
      );
    }
    const request = executionContext.getArgByIndex<HeaderHolder & PrincipalHolder>(0);
    try {
      const token = this.extractToken(request);
      (request as PrincipalHolder)[ACCESS_TOKEN_PRINCIPAL] = await this.verify(token);
    } catch (error) {
      if (error instanceof TokenUnauthorizedException) {
        executionContext
          .getArgByIndex<HeaderSetter>(1)
          .header('WWW-Authenticate', challengeFor(error.reason));
      }
      throw error;
    }
    return true;
  }

  /** The bearer token of the request; 401 `token_missing` without one, `token_invalid` if malformed. */
  protected extractToken(request: HeaderHolder): string {
    const header = request.headers.authorization;
    if (typeof header !== 'string' || !BEARER_SCHEME.test(header.trimStart())) {
      throw new TokenUnauthorizedException('token_missing');
    }
    const match = BEARER.exec(header.trim());
    if (!match) throw new TokenUnauthorizedException('token_invalid');
    return match[1];
  }

  /** The principal of `token`, or the 401 its failure calls for. */
  protected async verify(token: string): Promise<AccessTokenPrincipal> {
    try {
      return await this.tokens.verifyAccessToken(token);
    } catch (error) {
      if (error instanceof TokenVerificationError) {
        throw new TokenUnauthorizedException(error.reason);
      }
      // Revocation 'strict' could not read the family: fail closed (503), as the cookie path does.
      throw asHttpOutage(error);
    }
  }
}
