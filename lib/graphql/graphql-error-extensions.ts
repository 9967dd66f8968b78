import { HttpException, HttpStatus } from '@nestjs/common';

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

/** What graphql-js copies into a resolver error's `extensions` from the error thrown. */
interface WithExtensions {
  extensions?: Record<string, unknown>;
}

/**
 * Gives a session exception the `extensions` a GraphQL client reads:
 * `{ code: 'UNAUTHENTICATED' | 'FORBIDDEN' | ..., reason }`. graphql-js
 * takes a resolver error's `extensions` from the error thrown, so this works
 * on every driver without configuring its error formatter: Mercurius sends
 * them as they are, and `@nestjs/apollo` keeps them next to its own `code`
 * (the same for 401 and 403). Errors without a status code pass unchanged.
 */
export function withGraphQLExtensions(error: unknown): unknown {
  if (!(error instanceof HttpException)) return error;
  const code = CODES[error.getStatus()];
  if (!code) return error;
  const body = error.getResponse();
  const reason =
    typeof body === 'object' && body !== null ? (body as { reason?: unknown }).reason : undefined;
  const target = error as HttpException & WithExtensions;
  target.extensions = { ...target.extensions, code, ...(reason === undefined ? {} : { reason }) };
  return error;
}

/**
 * Runs a guard's or interceptor's check for a GraphQL operation, giving the
 * exception it ends with (thrown, or a rejected promise) its GraphQL
 * `extensions`. Only GraphQL operations pay for this: HTTP requests call the
 * check directly.
 */
export function withGraphQLErrors<T>(check: () => Promise<T>): Promise<T>;
export function withGraphQLErrors<T>(check: () => T | Promise<T>): T | Promise<T>;
export function withGraphQLErrors<T>(check: () => T | Promise<T>): T | Promise<T> {
  let result: T | Promise<T>;
  try {
    result = check();
  } catch (error) {
    throw withGraphQLExtensions(error);
  }
  return result instanceof Promise
    ? result.catch((error: unknown) => {
        throw withGraphQLExtensions(error);
      })
    : result;
}
