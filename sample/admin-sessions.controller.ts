import { BadRequestException, Controller, Delete, Get, Param, Query } from '@nestjs/common';
import { RequireSession, SessionService } from '../lib/index.js';

/** Longest user ID accepted, as for the log-in's username. */
const MAX_USER_ID_LENGTH = 128;

/**
 * Support tooling: any user's sessions, for an admin. `@RequireSession`
 * applies SessionGuard itself, so guards answer first: 401 `{ reason }`
 * without a live session, 403 without the `admin` role, and only then the
 * handler's own 400. No CSRF token on the DELETE, as on `DELETE /sessions`:
 * a cross-site page cannot send a DELETE without a CORS preflight, and the
 * sample allows none.
 */
@Controller('admin/sessions')
@RequireSession({ roles: ['admin'] })
export class AdminSessionsController {
  constructor(private readonly sessions: SessionService) {}

  /**
   * GET /admin/sessions?userId=: 200 `[{ handle, kind, createdAt, lastSeenAt,
   * userAgent, ip }]` (the log-in's User-Agent and client address; null for
   * token families and when the log-in request had none),
   * the user's live cookie sessions (`kind: 'cookie'`) and refresh-token
   * families (`kind: 'token'`), oldest first, times as ISO strings; `[]` for
   * a user with none. 400 without a single non-empty `userId`.
   */
  @Get()
  async list(@Query('userId') userId: unknown) {
    const entries = await this.sessions.listForUser(requiredUserId(userId));
    return entries.map((e) => ({
      handle: e.handle,
      kind: e.kind,
      createdAt: e.createdAt.toISOString(),
      lastSeenAt: e.lastSeenAt.toISOString(),
      // The log-in's client, kept by the library for cookie sessions (null for token families).
      userAgent: e.userAgent ?? null,
      ip: e.ip ?? null,
    }));
  }

  /**
   * DELETE /admin/sessions/:userId: logs the user out everywhere (cookie
   * sessions and token families; their next request answers 401 `revoked`).
   * 200 `{ revoked: n }`, n the sessions and families ended (0 for none).
   */
  @Delete(':userId')
  async revokeAll(@Param('userId') userId: string) {
    return { revoked: await this.sessions.revokeAllForUser(requiredUserId(userId)) };
  }
}

/** One non-empty user ID; a repeated query parameter (an array) or an empty one is a 400. */
function requiredUserId(value: unknown): string {
  if (typeof value !== 'string' || value === '' || value.length > MAX_USER_ID_LENGTH) {
    throw new BadRequestException(
      `userId must be one non-empty string of at most ${MAX_USER_ID_LENGTH} characters`,
    );
  }
  return value;
}
