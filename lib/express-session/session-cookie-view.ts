import type { RequestSession } from '../session/request-session.js';
import type { ResolvedSessionOptions } from '../session.options.js';
import type { ExpressSessionCookie } from './express-session.interface.js';

/** What the view reads of the module's options. */
export type CookieViewOptions = Pick<ResolvedSessionOptions, 'absoluteTimeoutMs' | 'cookie'>;

function readOnly(field: string): TypeError {
  return new TypeError(
    `req.session.cookie.${field} is read-only: the session cookie lives until the session's ` +
      'absoluteTimeout (SessionModule options), whatever a request asks.',
  );
}

/**
 * `req.session.cookie`: the module's cookie as express-session describes
 * one. Read-only on purpose: the cookie's lifetime is the session's absolute
 * timeout, which one request must not lengthen.
 */
export class SessionCookieView implements ExpressSessionCookie {
  constructor(
    private readonly session: RequestSession,
    private readonly options: CookieViewOptions,
  ) {}

  get originalMaxAge(): number {
    return this.options.absoluteTimeoutMs;
  }

  get expires(): Date {
    return new Date(this.session.createdAtMs + this.options.absoluteTimeoutMs);
  }

  set expires(_value: unknown) {
    throw readOnly('expires');
  }

  get maxAge(): number {
    return Math.max(0, this.session.createdAtMs + this.options.absoluteTimeoutMs - Date.now());
  }

  set maxAge(_value: unknown) {
    throw readOnly('maxAge');
  }

  get httpOnly(): boolean {
    return this.options.cookie.httpOnly;
  }

  get secure(): boolean {
    return this.options.cookie.secure;
  }

  get sameSite(): 'lax' | 'strict' | 'none' {
    return this.options.cookie.sameSite;
  }

  get path(): string {
    return this.options.cookie.path;
  }

  get domain(): string | undefined {
    return this.options.cookie.domain;
  }

  toJSON(): ExpressSessionCookie {
    const { maxAge, originalMaxAge, expires, httpOnly, secure, sameSite, path, domain } = this;
    return { maxAge, originalMaxAge, expires, httpOnly, secure, sameSite, path, domain };
  }
}
