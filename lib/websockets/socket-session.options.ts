/** Options of `SessionWebSocketModule.forRoot()`. */
export interface SocketSessionOptions {
  /**
   * How often each live socket's session is re-read from the store, in ms
   * (default 1000): a session that ends (logout, revocation from any app
   * instance on the same store, timeout) closes its sockets within about
   * this long plus one store round trip. One store read per distinct
   * session per interval (see the README's cost note).
   */
  recheckIntervalMs?: number;
  /** The close code of a `ws` socket refused or closed for want of a live session (default 4401). */
  closeCode?: number;
  /**
   * Whether `SocketSessions.attach()` refuses (closes) a socket whose
   * handshake has no live, logged-in session (default true). `false`:
   * anonymous sockets stay open; `WsSessionGuard` still refuses their messages.
   */
  requireAuthenticated?: boolean;
}

export type ResolvedSocketSessionOptions = Required<SocketSessionOptions>;

/** Injection token of the resolved options. */
export const SOCKET_SESSION_OPTIONS = Symbol('nest-session:socket-session-options');

/** 4401: an application close code (4000-4999) echoing HTTP 401. */
export const DEFAULT_CLOSE_CODE = 4401;

export function resolveSocketSessionOptions(
  options: SocketSessionOptions = {},
): ResolvedSocketSessionOptions {
  const recheckIntervalMs = options.recheckIntervalMs ?? 1000;
  if (!Number.isFinite(recheckIntervalMs) || recheckIntervalMs < 50) {
    throw new Error(
      `recheckIntervalMs must be a number of ms, at least 50 (got ${recheckIntervalMs})`,
    );
  }
  const closeCode = options.closeCode ?? DEFAULT_CLOSE_CODE;
  if (!Number.isInteger(closeCode) || closeCode < 4000 || closeCode > 4999) {
    throw new Error(`closeCode must be an application close code, 4000-4999 (got ${closeCode})`);
  }
  return {
    recheckIntervalMs,
    closeCode,
    requireAuthenticated: options.requireAuthenticated ?? true,
  };
}
