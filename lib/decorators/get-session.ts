import type { ExecutionContext } from '@nestjs/common';
import type { ReadonlySession } from '../websockets/readonly-session.js';
import { sessionOfContext, type Session } from './session.decorator.js';

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
  return Promise.resolve(sessionOfContext(executionContext) as Session | ReadonlySession);
}
