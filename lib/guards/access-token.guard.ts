import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { withGraphQLErrors } from '../graphql/graphql-error-extensions.js';
import { SessionContexts } from '../http/session-contexts.js';
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
 *
 * On a GraphQL operation it reads the `Authorization` header of the HTTP
 * request the operation came in, and a refusal is a GraphQL error with
 * `extensions.code: 'UNAUTHENTICATED'` and the same `reason`, without the
 * `WWW-Authenticate` challenge: that belongs to a 401, and a GraphQL answer
 * is a 200 with the error in its body.
 */
@Injectable()
export class AccessTokenGuard implements CanActivate {
  constructor(protected readonly tokens: TokenService) {}

  async canActivate(executionContext: ExecutionContext): Promise<boolean> {
    const type = executionContext.getType<string>();
    if (type === 'graphql') {
      const request = SessionContexts.requestOf(executionContext) as HeaderHolder;
      return withGraphQLErrors(() => this.authenticate(request));
    }
    if (type !== 'http') {
      throw new Error(
        `AccessTokenGuard works in HTTP requests and GraphQL operations only, not in '${type}' contexts.`,
      );
    }
    try {
      return await this.authenticate(executionContext.getArgByIndex<HeaderHolder>(0));
    } catch (error) {
      if (error instanceof TokenUnauthorizedException) {
        executionContext
          .getArgByIndex<HeaderSetter>(1)
          .header('WWW-Authenticate', challengeFor(error.reason));
      }
      throw error;
    }
  }

  /** Verifies the request's bearer token and leaves its principal on the request for `@AccessToken()`. */
  private async authenticate(request: HeaderHolder): Promise<boolean> {
    const token = this.extractToken(request);
    (request as PrincipalHolder)[ACCESS_TOKEN_PRINCIPAL] = await this.verify(token);
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
