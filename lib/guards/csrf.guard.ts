import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import {
  isAllowedOrigin,
  isHostOrigin,
  isSafeMethod,
  requestHeader,
  type OriginCheckRequest,
} from '../csrf/origin-check.js';
import { withGraphQLErrors } from '../graphql/graphql-error-extensions.js';
import { requestOrigin } from '../http/request-origin.js';
import { SessionContexts } from '../http/session-contexts.js';
import { RequestSession } from '../session/request-session.js';
import { SessionEngine } from '../session/session.engine.js';
import type { SessionApi } from '../session/session.interface.js';
import { CsrfForbiddenException } from '../session.exceptions.js';

/** Header that carries the token (a cross-site form cannot set custom headers). */
export const CSRF_HEADER = 'x-csrf-token';

/**
 * A request as the CSRF guards read it: its headers and method. Express and
 * Fastify requests both fit; an override of a guard's checks receives this.
 */
export type CsrfRequest = OriginCheckRequest;

/**
 * CSRF defence for unsafe methods, in depth:
 * 1. Fetch Metadata: `Sec-Fetch-Site: cross-site` (or `same-site` from an
 *    origin not allowed) is refused;
 * 2. Origin: `null`, or an origin other than the app's own (its Host) and
 *    the allow-list, is refused;
 * 3. Token: header `x-csrf-token` must be this session's synchronizer token
 *    (`session.csrfToken`), bound to the session and renewed at log-in.
 * A request with neither Origin nor Fetch Metadata (curl, a server) is
 * judged by its token alone. Refusals are 403 with `reason: "csrf"`.
 * Steps 1 and 2 are `SameOriginGuard`'s too (lib/csrf/origin-check.ts).
 * On a GraphQL mutation the refusal is a GraphQL error with
 * `extensions.code: 'FORBIDDEN'` and `reason: 'csrf'`.
 */
@Injectable()
export class CsrfGuard implements CanActivate {
  constructor(
    protected readonly contexts: SessionContexts,
    protected readonly engine: SessionEngine,
  ) {}

  canActivate(executionContext: ExecutionContext): Promise<boolean> {
    // A GraphQL client reads `extensions.code` and `reason`, not the HTTP status.
    if (executionContext.getType<string>() === 'graphql') {
      return withGraphQLErrors(() => this.activate(executionContext));
    }
    return this.activate(executionContext);
  }

  private async activate(executionContext: ExecutionContext): Promise<boolean> {
    const context = this.contexts.fromExecutionContext(executionContext);
    // The HTTP request itself, or the one a GraphQL operation runs in.
    const request = SessionContexts.requestOf(executionContext) as CsrfRequest;
    if (isSafeMethod(request)) return true;
    if (!this.isAllowedOrigin(request)) {
      throw csrfRefusal(this.engine, request, 'Cross-origin request refused');
    }
    const session = await context.session();
    if (!this.hasValidToken(session, request)) {
      throw csrfRefusal(this.engine, request, 'Missing or invalid CSRF token');
    }
    return true;
  }

  /** Fetch Metadata and Origin checks; absent headers defer to the token. */
  protected isAllowedOrigin(request: CsrfRequest): boolean {
    return isAllowedOrigin(request, this.engine.options.csrfAllowedOrigins, (origin, req) =>
      this.isOwnOrigin(origin, req),
    );
  }

  /** The app's own origin: same host (and port) as the request was sent to. */
  protected isOwnOrigin(origin: string, request: CsrfRequest): boolean {
    return isHostOrigin(origin, request);
  }

  /** Whether the `x-csrf-token` header is this session's current token (constant time). */
  protected hasValidToken(session: SessionApi, request: CsrfRequest): boolean {
    // The module hands out RequestSessions only; any other object has no secret to check against.
    if (!(session instanceof RequestSession)) return false;
    return this.engine.csrf.verify(session, requestHeader(request, CSRF_HEADER));
  }
}

/**
 * The 403 of a CSRF refusal (CsrfGuard's and SameOriginGuard's), reported as
 * `rejected` (`csrf`): with the session's handle and user when the request
 * loaded its session already (a refusal never loads it just to report it).
 */
export function csrfRefusal(
  engine: SessionEngine,
  request: CsrfRequest,
  message: string,
): CsrfForbiddenException {
  const events = engine.events;
  if (events.observed) {
    const context = SessionContexts.existing(request);
    const session = context?.loadedSession;
    events.emit(
      {
        type: 'rejected',
        kind: 'cookie',
        handle: session?.handle,
        userId: session?.userId,
        reason: 'csrf',
      },
      context ?? requestOrigin(request, engine.options.bruteForce?.trustProxy ?? 0),
    );
  }
  return new CsrfForbiddenException(message);
}
