import { ForbiddenException, HttpException, HttpStatus } from '@nestjs/common';
import type { SessionEndReason } from './session/session.interface.js';
import { SessionStoreUnavailableError } from './stores/store-outage.js';
import type { TokenFailureReason } from './tokens/token.errors.js';

/** Machine-readable reasons carried in the `reason` field of error bodies. */
export type SessionErrorReason =
  | SessionEndReason
  | 'reauth_required'
  | 'forbidden'
  | 'csrf'
  | 'too_many_invalid_sessions'
  | 'store_unavailable'
  | 'session_too_large'
  | 'session_conflict'
  | TokenUnauthorizedReason;

/** Seconds a client is told to wait (Retry-After) while the store is down. */
export const STORE_RETRY_AFTER_SECONDS = 2;

/** 401 from `SessionGuard`: no live, authenticated session (see `reason`). */
export class SessionUnauthorizedException extends HttpException {
  constructor(
    readonly reason: SessionEndReason | 'reauth_required',
    message = reason === 'reauth_required'
      ? 'Re-authentication required'
      : 'A valid session is required',
  ) {
    super(
      { statusCode: HttpStatus.UNAUTHORIZED, message, error: 'Unauthorized', reason },
      HttpStatus.UNAUTHORIZED,
    );
  }
}

/** 403 from `SessionGuard`: the session lacks every role the route requires. */
export class SessionForbiddenException extends ForbiddenException {
  readonly reason = 'forbidden';

  constructor(message = 'The session lacks a required role') {
    super({ statusCode: HttpStatus.FORBIDDEN, message, error: 'Forbidden', reason: 'forbidden' });
  }
}

/** 403 from `CsrfGuard`: a cross-site request or a missing/invalid CSRF token. */
export class CsrfForbiddenException extends ForbiddenException {
  readonly reason = 'csrf';

  constructor(message = 'CSRF check failed') {
    super({ statusCode: HttpStatus.FORBIDDEN, message, error: 'Forbidden', reason: 'csrf' });
  }
}

/** 429: this client presented too many unknown or badly signed session IDs. */
export class TooManyInvalidSessionsException extends HttpException {
  readonly reason = 'too_many_invalid_sessions';

  constructor(message = 'Too many invalid session IDs; retry later') {
    super(
      {
        statusCode: HttpStatus.TOO_MANY_REQUESTS,
        message,
        error: 'Too Many Requests',
        reason: 'too_many_invalid_sessions',
      },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}

/**
 * 503 when the session store cannot be reached: the request fails closed,
 * refused rather than served as if its writes were saved (or, unless
 * `storeOutage: 'anonymous'`, as if it had no session), and the client is
 * told when to retry.
 */
export class SessionStoreUnavailableException extends HttpException {
  readonly reason = 'store_unavailable';

  constructor(message = 'The session store is unavailable; retry shortly') {
    super(
      {
        statusCode: HttpStatus.SERVICE_UNAVAILABLE,
        message,
        error: 'Service Unavailable',
        reason: 'store_unavailable',
      },
      HttpStatus.SERVICE_UNAVAILABLE,
    );
  }
}

/**
 * What a caller throws for `error`: a store outage seen outside the request
 * path (`SessionService`, `TokenService`, `AccessTokenGuard`) becomes the
 * 503 the request path answers; anything else stays as it is.
 */
export function asHttpOutage(error: unknown): unknown {
  return error instanceof SessionStoreUnavailableError
    ? new SessionStoreUnavailableException()
    : error;
}

/**
 * 413: a write would take the session's data over `maxSessionBytes`.
 * Thrown by `session.set()` (the session is left as it was) and, for a value
 * grown in place (`session.get('cart').push(...)`), at commit: then nothing
 * is written and this replaces the app's response.
 */
export class SessionTooLargeException extends HttpException {
  readonly reason = 'session_too_large';

  constructor(message = 'The session would exceed its size limit') {
    super(
      {
        statusCode: HttpStatus.PAYLOAD_TOO_LARGE,
        message,
        error: 'Payload Too Large',
        reason: 'session_too_large',
      },
      HttpStatus.PAYLOAD_TOO_LARGE,
    );
  }
}

/** The 401 reasons of token sessions (`AccessTokenGuard`, the refresh and logout routes). */
export type TokenUnauthorizedReason = 'token_missing' | TokenFailureReason;

const TOKEN_MESSAGES: Record<TokenUnauthorizedReason, string> = {
  token_missing: 'A bearer access token is required',
  token_invalid: 'The token is invalid',
  token_expired: 'The token has expired',
  token_revoked: 'The token has been revoked',
  refresh_reused: 'The refresh token was already used; its sessions are revoked',
};

/**
 * 401 of token sessions, from `AccessTokenGuard` (no bearer token, or one
 * that does not verify or was revoked) and from `TokenService.refresh()`
 * (see `reason`).
 */
export class TokenUnauthorizedException extends HttpException {
  constructor(
    readonly reason: TokenUnauthorizedReason,
    message = TOKEN_MESSAGES[reason],
  ) {
    super(
      { statusCode: HttpStatus.UNAUTHORIZED, message, error: 'Unauthorized', reason },
      HttpStatus.UNAUTHORIZED,
    );
  }
}
