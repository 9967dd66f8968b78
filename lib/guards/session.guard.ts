import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { SessionRequirement } from '../decorators/session-requirement.js';
import { withGraphQLErrors } from '../graphql/graphql-error-extensions.js';
import { SessionContexts } from '../http/session-contexts.js';
import type { SessionApi } from '../session/session.interface.js';
import type { RequestSession } from '../session/request-session.js';
import { REQUIRE_SESSION_METADATA } from '../session.constants.js';
import { SessionForbiddenException, SessionUnauthorizedException } from '../session.exceptions.js';
import { assertSocketSession, socketSessionOf } from '../websockets/socket-session-check.js';

/**
 * Lets a request through only with a live, authenticated session; otherwise
 * 401 with a `reason` (`no_session`, `idle_timeout`, `absolute_timeout`,
 * `revoked`). Reads `@RequireSession()` for roles (403) and freshness (401
 * `reauth_required`), and lets `@AllowAnonymous()` routes through untouched
 * (for a guard registered app-wide). Each check is a protected method to
 * override. Works on GraphQL resolvers too (see `graphqlPlatformRequest`
 * for the context shapes), where its refusals carry `extensions.code`
 * (`UNAUTHENTICATED`, `FORBIDDEN`) and `extensions.reason`, and on gateway messages
 * (`@RequireSession()` in a gateway), where it checks the socket's session as
 * WsSessionGuard does.
 */
@Injectable()
export class SessionGuard implements CanActivate {
  /** Route requirements by controller, then handler (`null`: none). */
  private readonly requirements = new WeakMap<object, WeakMap<object, SessionRequirement | null>>();

  constructor(
    protected readonly contexts: SessionContexts,
    protected readonly reflector: Reflector,
  ) {}

  canActivate(executionContext: ExecutionContext): boolean | Promise<boolean> {
    const requirement = this.requirementOf(executionContext);
    if (requirement?.anonymous) return true;
    const type = executionContext.getType<string>();
    if (type === 'http') return this.activate(executionContext);
    // A GraphQL client reads `extensions.code` and `reason`, not the HTTP status.
    if (type === 'graphql') return withGraphQLErrors(() => this.activate(executionContext));
    // `@RequireSession()` on a gateway message: the socket's session, as WsSessionGuard checks it.
    if (type === 'ws') {
      return socketSessionOf(executionContext)
        .then((session) => assertSocketSession(session, requirement))
        .then(() => true);
    }
    return this.activate(executionContext);
  }

  private activate(executionContext: ExecutionContext): boolean | Promise<boolean> {
    const context = this.contexts.fromExecutionContext(executionContext);
    const session = context.sessionOrPromise();
    // Synchronous when the session is at hand (no cookie, or loaded already): no extra promise.
    return session instanceof Promise
      ? session.then((loaded) => this.check(loaded, executionContext, context))
      : this.check(session, executionContext, context);
  }

  /** Every check on a loaded session; throws the 401/403/429 that ends the request. */
  protected check(
    session: SessionApi,
    executionContext: ExecutionContext,
    context = this.contexts.fromExecutionContext(executionContext),
  ): boolean {
    // Past the guessing defence's limit, a route that needs a session says so (429), not 401.
    const retryAfter = (session as Partial<RequestSession>).guessingRetryAfter;
    if (retryAfter !== undefined) throw context.tooManyInvalidSessions(retryAfter);
    this.assertAuthenticated(session);
    const requirement = this.requirementOf(executionContext);
    if (requirement?.roles) this.assertRoles(session, requirement.roles);
    if (requirement?.freshWithinMs !== undefined)
      this.assertFresh(session, requirement.freshWithinMs);
    return true;
  }

  /**
   * `@RequireSession()` of the route (handler over class), read once per
   * route: metadata is fixed after bootstrap, and reflect-metadata's lookup
   * up the prototype chain would otherwise run on every request.
   */
  private requirementOf(executionContext: ExecutionContext): SessionRequirement | undefined {
    const handler = executionContext.getHandler();
    const controller = executionContext.getClass();
    let byHandler = this.requirements.get(controller);
    if (!byHandler) this.requirements.set(controller, (byHandler = new WeakMap()));
    let requirement = byHandler.get(handler);
    if (requirement === undefined) {
      requirement =
        this.reflector.getAllAndOverride<SessionRequirement | undefined>(REQUIRE_SESSION_METADATA, [
          handler,
          controller,
        ]) ?? null;
      byHandler.set(handler, requirement);
    }
    return requirement ?? undefined;
  }

  protected assertAuthenticated(session: SessionApi): void {
    if (!session.isAuthenticated) {
      throw new SessionUnauthorizedException(session.endReason ?? 'no_session');
    }
  }

  /** At least one of the required roles, as in Nest's roles-guard examples. */
  protected assertRoles(session: SessionApi, roles: readonly string[]): void {
    if (roles.length > 0 && !roles.some((role) => session.roles.includes(role))) {
      throw new SessionForbiddenException();
    }
  }

  protected assertFresh(session: SessionApi, freshWithinMs: number): void {
    const authenticatedAt = session.authenticatedAt?.getTime() ?? 0;
    if (Date.now() - authenticatedAt > freshWithinMs) {
      throw new SessionUnauthorizedException('reauth_required');
    }
  }
}
