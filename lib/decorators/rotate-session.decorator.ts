import {
  Injectable,
  UseInterceptors,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { from, switchMap, type Observable } from 'rxjs';
import { SessionContexts } from '../http/session-contexts.js';

/**
 * Marks the request so that its session ID is rotated at commit when the
 * response is a success (status < 400): the check happens when the response
 * goes out, so it holds for `@Res()` handlers and redirects too.
 */
@Injectable()
export class RotateSessionInterceptor implements NestInterceptor {
  constructor(private readonly contexts: SessionContexts) {}

  intercept(executionContext: ExecutionContext, next: CallHandler): Observable<unknown> {
    const context = this.contexts.fromExecutionContext(executionContext);
    context.rotateIfSuccessful();
    // Load first, so a store outage answers 503 before the handler runs.
    return from(context.session()).pipe(switchMap(() => next.handle()));
  }
}

/** Rotates the session ID after the handler succeeds, keeping the data. */
export function RotateSession(): MethodDecorator & ClassDecorator {
  // No metadata: the interceptor marks the request itself, so nothing reads a flag.
  return UseInterceptors(RotateSessionInterceptor);
}
