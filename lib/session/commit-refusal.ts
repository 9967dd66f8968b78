import { HttpStatus } from '@nestjs/common';
import type { SessionErrorReason } from '../session.exceptions.js';

/**
 * A commit that must not stand, decided by the store's answer: the app's
 * response is replaced by this one (both platforms), since the client would
 * otherwise act on a session change that did not happen.
 */
export class CommitRefusal extends Error {
  constructor(
    readonly status: number,
    readonly reason: SessionErrorReason,
    message: string,
    /** Set-Cookie values the replacement response carries (e.g. clearing a dead cookie). */
    readonly cookies: string[] = [],
  ) {
    super(message);
    this.name = 'CommitRefusal';
  }

  /** Nest's JSON error shape plus `reason`. */
  get body(): Record<string, unknown> {
    const error = this.status === HttpStatus.CONFLICT ? 'Conflict' : 'Unauthorized';
    return { statusCode: this.status, message: this.message, error, reason: this.reason };
  }

  /**
   * The session was logged out, revoked or expired by another request while
   * this one was changing its ID: the change is dropped, and the request is
   * logged out too (its cookie cleared).
   */
  static sessionEnded(clearCookie: string): CommitRefusal {
    return new CommitRefusal(
      HttpStatus.UNAUTHORIZED,
      'no_session',
      'The session ended while this request was changing it',
      [clearCookie],
    );
  }

  /**
   * Another request changed this session's privileges (and ID) first, to
   * something else than this request wanted: applying this change on top of
   * it could grant what neither request asked for, so it is refused; the
   * client may retry with its new cookie.
   */
  static conflict(): CommitRefusal {
    return new CommitRefusal(
      HttpStatus.CONFLICT,
      'session_conflict',
      'The session was changed by a concurrent request; retry',
    );
  }
}
