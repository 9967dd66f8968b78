import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { SessionRequirement } from '../decorators/session-requirement.js';
import { REQUIRE_SESSION_METADATA } from '../session.constants.js';
import type { ReadonlySession } from './readonly-session.js';
import { SocketClient } from './socket-client.js';
import { socketSessionSlot } from './socket-session-slot.js';
import { wsRefusal } from './ws-exception.js';

/**
 * `SessionGuard` for gateway message handlers (@nestjs/platform-ws and
 * @nestjs/platform-socket.io): lets a message through only when its socket
 * has a live, logged-in session, the one `SocketSessions.attach()` loaded at
 * the handshake and the re-checks keep current. Otherwise throws a
 * `WsException` whose error is `{ status: 'error', reason, message }`
 * (`no_session`, `idle_timeout`, `absolute_timeout`, `revoked`,
 * `too_many_invalid_sessions`, or `forbidden` when `@RequireSession({ roles })`
 * names roles the session lacks), which Nest's filter sends as the
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
    const client = executionContext.getArgByIndex<unknown>(0);
    const slot = SocketClient.of(client) && socketSessionSlot(client as object);
    // A handshake load that failed refused the socket already; its messages find no session.
    const session = await Promise.resolve(slot).catch(() => undefined);
    await this.check(session, executionContext);
    return true;
  }

  /** Every check on the socket's session; throws the refusal. A protected method to override. */
  protected async check(
    session: ReadonlySession | undefined,
    executionContext: ExecutionContext,
  ): Promise<void> {
    if (session?.guessingRetryAfter !== undefined) {
      throw await wsRefusal('too_many_invalid_sessions', 'Too many invalid session cookies');
    }
    if (!session?.isAuthenticated) {
      throw await wsRefusal(session?.endReason ?? 'no_session', 'A live session is required');
    }
    const requirement = this.reflector.getAllAndOverride<SessionRequirement | undefined>(
      REQUIRE_SESSION_METADATA,
      [executionContext.getHandler(), executionContext.getClass()],
    );
    const roles = requirement?.roles ?? [];
    if (roles.length > 0 && !roles.some((role) => session.roles.includes(role))) {
      throw await wsRefusal('forbidden', 'The session lacks the role this message requires');
    }
  }
}
