import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { SessionRequirement } from '../decorators/session-requirement.js';
import { REQUIRE_SESSION_METADATA } from '../session.constants.js';
import type { ReadonlySession } from './readonly-session.js';
import { assertSocketSession, socketSessionOf } from './socket-session-check.js';

/**
 * `SessionGuard` for gateway message handlers (@nestjs/platform-ws and
 * @nestjs/platform-socket.io): lets a message through only when its socket
 * has a live, logged-in session, the one `SocketSessions.attach()` loaded at
 * the handshake and the re-checks keep current. Otherwise throws a
 * `WsException` whose error is `{ status: 'error', reason, message }`
 * (`no_session`, `idle_timeout`, `absolute_timeout`, `revoked`,
 * `too_many_invalid_sessions`, `forbidden` when `@RequireSession({ roles })`
 * names roles the session lacks, `reauth_required` when the log-in is older
 * than its `freshWithin`), which Nest's filter sends as the
 * `exception` event. No store call: the re-checks already made it.
 */
@Injectable()
export class WsSessionGuard implements CanActivate {
  constructor(protected readonly reflector: Reflector) {}

  async canActivate(executionContext: ExecutionContext): Promise<boolean> {
    if (executionContext.getType() !== 'ws') {
      throw new Error(
        `WsSessionGuard guards gateway handlers, not '${executionContext.getType()}' contexts`,
      );
    }
    await this.check(await socketSessionOf(executionContext), executionContext);
    return true;
  }

  /** Every check on the socket's session; throws the refusal. A protected method to override. */
  protected async check(
    session: ReadonlySession | undefined,
    executionContext: ExecutionContext,
  ): Promise<void> {
    const requirement = this.reflector.getAllAndOverride<SessionRequirement | undefined>(
      REQUIRE_SESSION_METADATA,
      [executionContext.getHandler(), executionContext.getClass()],
    );
    await assertSocketSession(session, requirement);
  }
}
