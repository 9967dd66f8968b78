import type { ExecutionContext } from '@nestjs/common';
import { graphqlSession } from '../graphql/graphql-session.js';
import { SessionContexts } from '../http/session-contexts.js';
import type { ReadonlySession } from '../websockets/readonly-session.js';
import { sessionOfWsContext } from '../websockets/ws-context-session.js';
import type { Session } from './session.decorator.js';

/**
 * The session of the request an `ExecutionContext` handles: the building
 * block for your own decorators, guards and interceptors, e.g.
 *
 * ```ts
 * export const CurrentUser = createParamDecorator(
 *   async (_data: unknown, context: ExecutionContext) => (await getSession(context)).userId,
 * );
 * ```
 *
 * It is the same session `@Session()` gives the handler (loaded once per
 * request, whoever asks first), with the same commit at the end of the
 * request. In a WebSocket gateway (`'ws'` context) it is the socket's
 * read-only session, loaded at the handshake (`SocketSessions.attach()`):
 * call `getSession<TData, 'ws'>(context)` for its `ReadonlySession` type.
 * Other contexts throw.
 */
export function getSession<
  TData extends object = Record<string, unknown>,
  TContext extends 'http' | 'ws' = 'http',
>(
  executionContext: ExecutionContext,
): Promise<TContext extends 'ws' ? ReadonlySession<TData> : Session<TData>>;
export function getSession(executionContext: ExecutionContext): Promise<Session | ReadonlySession> {
  const type = executionContext.getType<string>();
  if (type === 'ws') {
    return Promise.resolve(sessionOfWsContext(executionContext));
  }
  // As `@Session()`: a failed load is a GraphQL error with `extensions.code` and `reason`.
  if (type === 'graphql') return Promise.resolve(graphqlSession(executionContext) as Session);
  const session = SessionContexts.fromAnyExecutionContext(executionContext).sessionOrPromise();
  return Promise.resolve(session as Session);
}
