import { HttpException, HttpStatus } from '@nestjs/common';
import { SessionGraphQLError } from './session-graphql-error.js';

/**
 * GraphQL error codes for the statuses this module answers with: the first
 * two are the codes Apollo (and `@nestjs/apollo`'s own mapping of 401/403)
 * use; the others follow the same naming for clients that switch on `code`.
 */
const CODES: Partial<Record<number, string>> = {
  [HttpStatus.UNAUTHORIZED]: 'UNAUTHENTICATED',
  [HttpStatus.FORBIDDEN]: 'FORBIDDEN',
  [HttpStatus.PAYLOAD_TOO_LARGE]: 'PAYLOAD_TOO_LARGE',
  [HttpStatus.TOO_MANY_REQUESTS]: 'TOO_MANY_REQUESTS',
  [HttpStatus.SERVICE_UNAVAILABLE]: 'SERVICE_UNAVAILABLE',
};

/**
 * A session exception as a GraphQL operation throws it: a
 * {@link SessionGraphQLError} with the `extensions` a GraphQL client reads,
 * `{ code: 'UNAUTHENTICATED' | 'FORBIDDEN' | 'SERVICE_UNAVAILABLE' | ..., reason }`,
 * the same on Apollo and Mercurius. Errors without one of these statuses
 * pass unchanged.
 */
export function asGraphQLError(error: unknown): unknown {
  if (!(error instanceof HttpException)) return error;
  const code = CODES[error.getStatus()];
  return code ? new SessionGraphQLError(error, code) : error;
}

/**
 * Runs a guard's, interceptor's or decorator's step of a GraphQL operation,
 * turning the session exception it ends with (thrown, or a rejected
 * promise) into its {@link asGraphQLError}. Only GraphQL operations pay for
 * this: HTTP requests call the step directly.
 */
export function withGraphQLErrors<T>(check: () => Promise<T>): Promise<T>;
export function withGraphQLErrors<T>(check: () => T | Promise<T>): T | Promise<T>;
export function withGraphQLErrors<T>(check: () => T | Promise<T>): T | Promise<T> {
  let result: T | Promise<T>;
  try {
    result = check();
  } catch (error) {
    throw asGraphQLError(error);
  }
  return result instanceof Promise
    ? result.catch((error: unknown) => {
        throw asGraphQLError(error);
      })
    : result;
}
