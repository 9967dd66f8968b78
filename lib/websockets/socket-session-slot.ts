import type { LoadedReadonlySession } from './readonly-session.js';

/** Where a client socket keeps its session (a symbol: invisible to JSON and to other code). */
const SOCKET_SESSION = Symbol('nest-session:socket-session');

interface SessionHolder {
  [SOCKET_SESSION]?: LoadedReadonlySession | Promise<LoadedReadonlySession>;
}

/** The session loaded at the socket's handshake (or its load still on its way), if any. */
export function socketSessionSlot(
  client: object,
): LoadedReadonlySession | Promise<LoadedReadonlySession> | undefined {
  return (client as SessionHolder)[SOCKET_SESSION];
}

/** Caches the socket's session on the socket itself: it lives exactly as long as the socket. */
export function fillSocketSessionSlot(
  client: object,
  session: LoadedReadonlySession | Promise<LoadedReadonlySession>,
): void {
  (client as SessionHolder)[SOCKET_SESSION] = session;
}
