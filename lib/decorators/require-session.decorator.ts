import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';
import { SessionGuard } from '../guards/session.guard.js';
import { REQUIRE_SESSION_METADATA } from '../session.constants.js';
import { parseDuration, type Duration } from '../utils/duration.js';
import type { SessionRequirement } from './session-requirement.js';

/** What `@RequireSession()` asks of a session. */
export interface RequireSessionOptions {
  /** 403 unless the session has at least one of these roles. */
  roles?: readonly string[];
  /** 401 `reauth_required` when the last log-in is older than this. */
  freshWithin?: Duration;
}

/**
 * Requires a live, authenticated session on a route or controller, with
 * optional roles and log-in freshness. Applies {@link SessionGuard} itself,
 * so the requirement can never be declared and silently not enforced.
 */
export function RequireSession(
  options: RequireSessionOptions = {},
): MethodDecorator & ClassDecorator {
  const requirement: SessionRequirement = {};
  if (options.roles !== undefined) {
    if (!Array.isArray(options.roles) || !options.roles.every((r) => typeof r === 'string')) {
      throw new TypeError('@RequireSession({ roles }) must be an array of strings');
    }
    requirement.roles = [...options.roles];
  }
  if (options.freshWithin !== undefined) {
    const ms = parseDuration(options.freshWithin);
    if (ms === undefined) {
      throw new TypeError(
        `@RequireSession({ freshWithin }) must be a positive duration such as '5m' (got ${JSON.stringify(options.freshWithin)})`,
      );
    }
    requirement.freshWithinMs = ms;
  }
  return applyDecorators(
    SetMetadata(REQUIRE_SESSION_METADATA, requirement),
    UseGuards(SessionGuard),
  );
}
