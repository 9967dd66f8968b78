import {
  createParamDecorator,
  Injectable,
  type ExecutionContext,
  type PipeTransform,
} from '@nestjs/common';
import { SessionContexts } from '../http/session-contexts.js';
import type { SessionApi } from '../session/session.interface.js';

/**
 * Loads the request's session before the handler runs. Param decorators
 * cannot wait; pipes can, so `@Session()` passes the execution context
 * through this pipe.
 */
@Injectable()
export class SessionPipe implements PipeTransform<
  ExecutionContext,
  SessionApi | Promise<SessionApi>
> {
  constructor(private readonly contexts: SessionContexts) {}

  transform(executionContext: ExecutionContext): SessionApi | Promise<SessionApi> {
    return this.contexts.fromExecutionContext(executionContext).sessionOrPromise();
  }
}

const SessionParam = createParamDecorator(
  (_data: unknown, executionContext: ExecutionContext) => executionContext,
);

/**
 * The session of the current request, typed by the app's data shape:
 * `@Session() session: Session<MyData>`. The session is loaded (once) when
 * the route asks for it; routes that don't ask cost no store call.
 *
 * This is this package's own decorator; Nest's built-in `@Session()` reads
 * `req.session` from express-session and does not work with this module.
 */
export function Session(): ParameterDecorator {
  return SessionParam(undefined, SessionPipe);
}

/** The per-request session (same name as the decorator, as in `@Session() session: Session`). */
export interface Session<
  TData extends object = Record<string, unknown>,
> extends SessionApi<TData> {}
