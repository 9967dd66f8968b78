import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { graphqlSession } from '../graphql/graphql-session.js';
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
 * In a GraphQL resolver it is the session of the HTTP request the operation
 * came in; a failure to load it (a store outage) is a GraphQL error with
 * `extensions.code` and `reason`, as a guard's refusal is.
 *
 * In a WebSocket gateway's message handler (`'ws'` context) it is the
 * socket's {@link ReadonlySession}, loaded at the handshake by
 * `SocketSessions.attach()`: `@Session() session: ReadonlySession`.
 *
 * This is this package's own decorator; Nest's built-in `@Session()` reads
 * `req.session` from express-session and does not work with this module.
 */
export const Session: () => ParameterDecorator = createParamDecorator(
  (_data: unknown, executionContext: ExecutionContext) => sessionOfContext(executionContext),
);

/**
 * The session of any execution context, as `@Session()` and `getSession()`
 * give it: the socket's in a gateway, the HTTP request's in a resolver (a
 * failed load there is a GraphQL error with `extensions.code` and `reason`)
 * and on a route. Synchronous when no store call is needed.
 */
export function sessionOfContext(
  executionContext: ExecutionContext,
): SessionApi | ReadonlySession | Promise<SessionApi | ReadonlySession> {
  const type = executionContext.getType<string>();
  if (type === 'ws') return sessionOfWsContext(executionContext);
  if (type === 'graphql') return graphqlSession(executionContext);
  return SessionContexts.fromAnyExecutionContext(executionContext).sessionOrPromise();
}

/** The per-request session (same name as the decorator, as in `@Session() session: Session`). */
export interface Session<
  TData extends object = Record<string, unknown>,
> extends SessionApi<TData> {}
