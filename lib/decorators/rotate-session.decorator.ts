import {
  Injectable,
  UseInterceptors,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { from, switchMap, tap, type Observable } from 'rxjs';
import { withGraphQLErrors } from '../graphql/graphql-error-extensions.js';
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
    if (executionContext.getType<string>() === 'graphql') {
      // A failed resolver still answers 200 (its error is in the body), so the
      // status cannot tell success: rotate once the resolver has returned.
      return from(withGraphQLErrors(() => context.session())).pipe(
        switchMap(() => next.handle()),
        tap(() => context.rotateIfSuccessful()),
      );
    }
    context.rotateIfSuccessful();
    // Load first, so a store outage answers 503 before the handler runs.
    return from(context.session()).pipe(switchMap(() => next.handle()));
  }
}

/**
 * Rotates the session ID after the handler succeeds, keeping the data. On a
 * GraphQL resolver: once the resolver has returned without an error.
 */
export function RotateSession(): MethodDecorator & ClassDecorator {
  // No metadata: the interceptor marks the request itself, so nothing reads a flag.
  return UseInterceptors(RotateSessionInterceptor);
}
