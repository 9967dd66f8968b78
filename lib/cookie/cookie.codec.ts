import { parseCookie, stringifySetCookie } from 'cookie';
import type { ResolvedSessionOptions } from '../session.options.js';

/** Longer Cookie headers than this are not parsed at all (browsers send at most a few KB). */
const MAX_COOKIE_HEADER_LENGTH = 16_384;
const keepRaw = (value: string) => value;

/**
 * Reads the session cookie from a Cookie header and writes Set-Cookie values
 * for it, with the attributes of the module's options.
 */
export class SessionCookieCodec {
  constructor(private readonly cookie: ResolvedSessionOptions['cookie']) {}

  get name(): string {
    return this.cookie.name;
  }

  /**
   * The raw value of the session cookie, or `undefined`. Never throws: any
   * header, however malformed, just has no session cookie (DESIGN rule 10).
   * With duplicates the first wins, as browsers send the most specific first.
   */
  read(header: unknown): string | undefined {
    if (typeof header !== 'string' || header.length === 0) return undefined;
    if (header.length > MAX_COOKIE_HEADER_LENGTH || !header.includes(this.cookie.name)) {
      return undefined;
    }
    try {
      // Values are never URI-decoded: a signed ID is plain base64url, anything else is invalid.
      return parseCookie(header, { decode: keepRaw })[this.cookie.name];
    } catch {
      return undefined;
    }
  }

  /** Set-Cookie for a signed ID, living `maxAgeMs` (the session's absolute lifetime left). */
  serialize(signedId: string, maxAgeMs: number): string {
    // Whole seconds, but never 0 while time is left: Max-Age=0 would delete the cookie at once.
    const seconds = maxAgeMs > 0 ? Math.max(1, Math.floor(maxAgeMs / 1000)) : 0;
    return this.build(signedId, seconds);
  }

  /** Set-Cookie that makes the browser drop the cookie. */
  clear(): string {
    return this.build('', 0);
  }

  private build(value: string, maxAge: number): string {
    const { name, path, domain, httpOnly, secure, sameSite } = this.cookie;
    return stringifySetCookie({ name, value, maxAge, path, domain, httpOnly, secure, sameSite });
  }
}
