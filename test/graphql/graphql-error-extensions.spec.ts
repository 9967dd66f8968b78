import { describe, expect, it } from '@jest/globals';
import { HttpException, HttpStatus, IntrinsicException } from '@nestjs/common';
import { asGraphQLError } from '../../lib/graphql/graphql-error-extensions.js';
import { SessionGraphQLError } from '../../lib/index.js';
import {
  SessionStoreUnavailableException,
  SessionUnauthorizedException,
  TooManyInvalidSessionsException,
} from '../../lib/session.exceptions.js';

/**
 * How a session exception is thrown in a GraphQL operation: an error whose
 * `extensions` graphql-js copies into the response, and which
 * `@nestjs/apollo` does not relabel (it is no HttpException).
 */
describe('asGraphQLError', () => {
  it.each([
    [new SessionUnauthorizedException('idle_timeout'), 'UNAUTHENTICATED', 'idle_timeout', 401],
    [new TooManyInvalidSessionsException(), 'TOO_MANY_REQUESTS', 'too_many_invalid_sessions', 429],
    [new SessionStoreUnavailableException(), 'SERVICE_UNAVAILABLE', 'store_unavailable', 503],
  ])('%s: code %s, reason %s, the HTTP exception kept', (exception, code, reason, status) => {
    const error = asGraphQLError(exception) as SessionGraphQLError;
    expect(error).toBeInstanceOf(SessionGraphQLError);
    expect(error).not.toBeInstanceOf(HttpException);
    // Nest logs every error but these as an ExceptionsHandler error.
    expect(error).toBeInstanceOf(IntrinsicException);
    expect(error.extensions).toEqual({ code, reason });
    expect(error.message).toBe(exception.message);
    expect(error.exception).toBe(exception);
    expect(error.cause).toBe(exception);
    expect(error.getStatus()).toBe(status);
  });

  it('a status without a GraphQL code, or no HttpException at all: unchanged', () => {
    const teapot = new HttpException('teapot', HttpStatus.I_AM_A_TEAPOT);
    expect(asGraphQLError(teapot)).toBe(teapot);
    const plain = new Error('boom');
    expect(asGraphQLError(plain)).toBe(plain);
  });

  it('no reason in the body: only the code', () => {
    const error = asGraphQLError(new HttpException('no', HttpStatus.FORBIDDEN));
    expect((error as SessionGraphQLError).extensions).toEqual({ code: 'FORBIDDEN' });
  });
});
