import type { ExecutionContext } from '@nestjs/common';
import type { SessionRequirement } from '../decorators/session-requirement.js';
import type { ReadonlySession } from './readonly-session.js';
import { SocketClient } from './socket-client.js';
import { socketSessionSlot } from './socket-session-slot.js';
import { wsRefusal } from './ws-exception.js';

/**
 * The session `SocketSessions.attach()` loaded for the socket of a gateway
 * message (`'ws'` context), as the re-checks keep it current; `undefined`
 * when none was attached, or its handshake load failed (that refused the
 * socket already).
 */
export async function socketSessionOf(
  executionContext: ExecutionContext,
): Promise<ReadonlySession | undefined> {
  const client = executionContext.getArgByIndex<unknown>(0);
  const slot = SocketClient.of(client) && socketSessionSlot(client as object);
  return Promise.resolve(slot).catch(() => undefined);
}

/**
 * What a gateway message needs of its socket's session, the rules
 * `SessionGuard` applies on HTTP: a live log-in, the route's roles, a fresh
 * enough log-in. Throws the `WsException` refusal. No store call: the
 * socket's re-checks already made it.
 */
export async function assertSocketSession(
  session: ReadonlySession | undefined,
  requirement: SessionRequirement | undefined,
): Promise<void> {
  if (session?.guessingRetryAfter !== undefined) {
    throw await wsRefusal('too_many_invalid_sessions', 'Too many invalid session cookies');
  }
  if (!session?.isAuthenticated) {
    throw await wsRefusal(session?.endReason ?? 'no_session', 'A live session is required');
  }
  const roles = requirement?.roles ?? [];
  if (roles.length > 0 && !roles.some((role) => session.roles.includes(role))) {
    throw await wsRefusal('forbidden', 'The session lacks the role this message requires');
  }
  // As on HTTP: a log-in (or re-authentication) older than `freshWithin` asks for a new proof.
  const freshWithinMs = requirement?.freshWithinMs;
  if (
    freshWithinMs !== undefined &&
    Date.now() - (session.authenticatedAt?.getTime() ?? 0) > freshWithinMs
  ) {
    throw await wsRefusal('reauth_required', 'This message requires a recent log-in');
  }
}
