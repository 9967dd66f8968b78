import type { ExecutionContext } from '@nestjs/common';
import type { LoadedReadonlySession, ReadonlySession } from './readonly-session.js';
import { SocketClient } from './socket-client.js';
import { socketSessionSlot } from './socket-session-slot.js';

const NOT_ATTACHED =
  'This socket has no session: its gateway did not attach one. Potential solution: call ' +
  'socketSessions.attach(client, request) in handleConnection(client, request) ' +
  '(SocketSessions comes with SessionWebSocketModule).';

/**
 * The session of a WebSocket message handler's socket (the `'ws'` branch of
 * `@Session()` and `getSession()`): the one loaded, read-only, at its
 * handshake by `SocketSessions.attach()`, kept current by the re-checks (so
 * a session that has ended reads `isAuthenticated: false` with its
 * `endReason`). Throws when the gateway attached none.
 */
export function sessionOfWsContext(
  executionContext: ExecutionContext,
): ReadonlySession | Promise<ReadonlySession> {
  const client = executionContext.getArgByIndex<unknown>(0);
  const session = SocketClient.of(client) && socketSessionSlot(client as object);
  if (!session) throw new Error(NOT_ATTACHED);
  return session as LoadedReadonlySession | Promise<LoadedReadonlySession>;
}
