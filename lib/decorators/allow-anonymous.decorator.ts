import { SetMetadata } from '@nestjs/common';
import { REQUIRE_SESSION_METADATA } from '../session.constants.js';
import type { SessionRequirement } from './session-requirement.js';

/**
 * Opens a route (or a controller) that a `SessionGuard` would otherwise
 * close, typically one registered app-wide as `APP_GUARD`: the log-in route,
 * a health check, public pages. The guard then lets the request through
 * without loading its session (the handler may still use `@Session()`).
 *
 * It shares `@RequireSession()`'s metadata, so the nearest one wins: a
 * handler's `@RequireSession()` closes a route of an `@AllowAnonymous()`
 * controller again, and a handler's `@AllowAnonymous()` opens one of a
 * `@RequireSession()` controller.
 */
export function AllowAnonymous(): MethodDecorator & ClassDecorator {
  const requirement: SessionRequirement = { anonymous: true };
  return SetMetadata(REQUIRE_SESSION_METADATA, requirement);
}
