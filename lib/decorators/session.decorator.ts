import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { SessionContexts } from '../http/session-contexts.js';
import type { SessionApi } from '../session/session.interface.js';
import type { ReadonlySession } from '../websockets/readonly-session.js';
import { sessionOfWsContext } from '../websockets/ws-context-session.js';

/**
 * The session of the current request, typed by the app's data shape:
 * `@Session() session: Session<MyData>`. The session is loaded (once) when
 * the route asks for it; routes that don't ask cost no store call.
 *
 * No pipe: the factory answers the session itself when no store call is
 * needed (no cookie, or a guard loaded it already), and a promise otherwise,
 * which Nest settles before the handler runs.
 *
 * In a WebSocket gateway's message handler (`'ws'` context) it is the
 * socket's {@link ReadonlySession}, loaded at the handshake by
 * `SocketSessions.attach()`: `@Session() session: ReadonlySession`.
 *
 * This is this package's own decorator; Nest's built-in `@Session()` reads
 * `req.session` from express-session and does not work with this module.
 */
export const Session: () => ParameterDecorator = createParamDecorator(
  (
    _data: unknown,
    executionContext: ExecutionContext,
  ): SessionApi | ReadonlySession | Promise<SessionApi | ReadonlySession> =>
    executionContext.getType() === 'ws'
      ? sessionOfWsContext(executionContext)
      : SessionContexts.fromAnyExecutionContext(executionContext).sessionOrPromise(),
);

/** The per-request session (same name as the decorator, as in `@Session() session: Session`). */
export interface Session<
  TData extends object = Record<string, unknown>,
> extends SessionApi<TData> {}
