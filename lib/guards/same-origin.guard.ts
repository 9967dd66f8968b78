import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { isAllowedOrigin, isHostOrigin, isSafeMethod } from '../csrf/origin-check.js';
import { asGraphQLError } from '../graphql/graphql-error-extensions.js';
import { SessionContexts } from '../http/session-contexts.js';
import { SessionEngine } from '../session/session.engine.js';
import { csrfRefusal, type CsrfRequest } from './csrf.guard.js';

/**
 * Origin-only CSRF defence, for routes where there is no session to bind a
 * token to yet: log-in (login CSRF, where a cross-site form logs the victim
 * into the attacker's account) and password re-entry. On unsafe methods:
 * - `Sec-Fetch-Site: cross-site`, or `same-site` from an origin not allowed, is refused;
 * - `Origin: null`, or an Origin other than the app's own (its Host) and
 *   `csrf.allowedOrigins`, is refused.
 * A request with neither header (curl, a server) passes. It never loads the
 * session. Refusals are 403 with `reason: "csrf"`, as `CsrfGuard`'s; the
 * checks are the same code (`CsrfGuard` adds the token on top). On a GraphQL
 * operation it checks the HTTP request the operation came in (a POST is
 * unsafe, queries included), and a refusal is a GraphQL error with
 * `extensions.code: 'FORBIDDEN'` and `reason: 'csrf'`.
 */
@Injectable()
export class SameOriginGuard implements CanActivate {
  constructor(protected readonly engine: SessionEngine) {}

  canActivate(executionContext: ExecutionContext): boolean {
    // A GraphQL client reads `extensions.code` and `reason`, not the HTTP status.
    if (executionContext.getType<string>() === 'graphql') {
      try {
        return this.check(SessionContexts.requestOf(executionContext) as CsrfRequest);
      } catch (error) {
        throw asGraphQLError(error);
      }
    }
    return this.check(executionContext.switchToHttp().getRequest<CsrfRequest>());
  }

  private check(request: CsrfRequest): boolean {
    if (isSafeMethod(request)) return true;
    if (!this.isAllowedOrigin(request)) {
      throw csrfRefusal(this.engine, request, 'Cross-origin request refused');
    }
    return true;
  }

  /** Fetch Metadata and Origin checks; a request with neither header passes. */
  protected isAllowedOrigin(request: CsrfRequest): boolean {
    return isAllowedOrigin(request, this.engine.options.csrfAllowedOrigins, (origin, req) =>
      this.isOwnOrigin(origin, req),
    );
  }

  /** The app's own origin: same host (and port) as the request was sent to. */
  protected isOwnOrigin(origin: string, request: CsrfRequest): boolean {
    return isHostOrigin(origin, request);
  }
}
