import type { ExecutionContext } from '@nestjs/common';
import { SessionContexts } from '../http/session-contexts.js';
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
 * request. HTTP contexts only for now; any other throws.
 */
export function getSession<TData extends object = Record<string, unknown>>(
  executionContext: ExecutionContext,
): Promise<Session<TData>> {
  const session = SessionContexts.fromAnyExecutionContext(executionContext).sessionOrPromise();
  return Promise.resolve(session as Session<TData>);
}
