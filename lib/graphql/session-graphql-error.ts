import { IntrinsicException, type HttpException } from '@nestjs/common';

/** What a GraphQL client reads in the error: `code` to switch on, and the session's `reason`. */
export interface SessionGraphQLErrorExtensions {
  code: string;
  reason?: string;
}

/**
 * A session refusal or failure (an `HttpException` of this module, e.g. a
 * 401 `no_session` or a 503 `store_unavailable`) as it is thrown in a
 * GraphQL operation. graphql-js takes a resolver error's `extensions` from
 * the error thrown, so every driver sends `{ code, reason }` without an
 * error formatter. It is not an `HttpException` on purpose: `@nestjs/apollo`
 * relabels those it has no code for (429, 503, ...) `INTERNAL_SERVER_ERROR`,
 * hiding the code. The HTTP exception stays available as `exception` (and
 * `cause`), with its status and body. An `IntrinsicException`, as Nest's
 * HTTP exceptions are: an expected outcome, which Nest does not log as an
 * error.
 */
export class SessionGraphQLError extends IntrinsicException {
  readonly extensions: SessionGraphQLErrorExtensions;

  constructor(
    readonly exception: HttpException,
    code: string,
  ) {
    super(exception.message, { cause: exception });
    this.name = 'SessionGraphQLError';
    const body = exception.getResponse();
    const reason =
      typeof body === 'object' && body !== null ? (body as { reason?: unknown }).reason : undefined;
    this.extensions = { code, ...(typeof reason === 'string' ? { reason } : {}) };
  }

  /** The HTTP status the refusal has on a plain HTTP route (401, 403, 429, 503, ...). */
  getStatus(): number {
    return this.exception.getStatus();
  }
}
