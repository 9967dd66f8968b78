import { stringifySetCookie } from 'cookie';
import type { ResolvedSessionOptions } from '../session.options.js';

/** Longer Cookie headers than this are not parsed at all (browsers send at most a few KB). */
const MAX_COOKIE_HEADER_LENGTH = 16_384;
/**
 * `readAll()` stops after this many session cookies: a browser holds at most
 * a few (one per matching Path/Domain), so more is an attack, and each one a
 * caller verifies costs an HMAC and perhaps a store read.
 */
export const MAX_SESSION_COOKIE_VALUES = 8;

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
   * header, however malformed, just has no session cookie (hostile input is
   * never an error, only the absence of a session).
   * With duplicates the first wins, as browsers send the most specific first;
   * `readAll()` gives them all, for callers that must not trust the first.
   */
  read(header: unknown): string | undefined {
    return this.scan(header, 1)[0];
  }

  /**
   * Every value of the session cookie, in header order (browsers send the
   * longest Path first, then the oldest), at most
   * {@link MAX_SESSION_COOKIE_VALUES}. An attacker who can plant a cookie
   * (a sibling subdomain, a narrower Path) can put theirs first: a caller
   * that keeps the first valid one is not fooled. Same rules as `read()`:
   * never throws, nothing from headers over 16 KB, values never URI-decoded.
   */
  readAll(header: unknown): string[] {
    return this.scan(header, MAX_SESSION_COOKIE_VALUES);
  }

  /**
   * Splits the header itself: `cookie`'s parseCookie keeps one value per
   * name. Same grammar as parseCookie (pairs split on `;`, name and value
   * trimmed of spaces and tabs, a pair without `=` skipped, everything after
   * the first `=` is the value), so `read()` answers as it did. Only the
   * session cookie's values are sliced out; other cookies cost a comparison.
   */
  private scan(header: unknown, limit: number): string[] {
    const values: string[] = [];
    if (typeof header !== 'string' || header.length === 0) return values;
    const name = this.cookie.name;
    if (header.length > MAX_COOKIE_HEADER_LENGTH || !header.includes(name)) return values;
    const length = header.length;
    let start = 0;
    while (start < length && values.length < limit) {
      const eq = header.indexOf('=', start);
      if (eq === -1) break; // no pair left
      let end = header.indexOf(';', start);
      if (end === -1) end = length;
      if (eq > end) {
        // Pairs without `=` are skipped by jumping to the one that holds this `=`, so
        // `;;;…;sid=x` is scanned once, not once per `;` (a 16 KB header stays linear).
        start = header.lastIndexOf(';', eq - 1) + 1;
        continue;
      }
      const keyStart = skipBlanks(header, start, eq);
      const keyEnd = trimBlanks(header, keyStart, eq);
      if (keyEnd - keyStart === name.length && header.startsWith(name, keyStart)) {
        // Values are never URI-decoded: a signed ID is plain base64url, anything else is invalid.
        const valueStart = skipBlanks(header, eq + 1, end);
        values.push(header.slice(valueStart, trimBlanks(header, valueStart, end)));
      }
      start = end + 1;
    }
    return values;
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

/** Space and tab, the blanks parseCookie trims around names and values. */
const isBlank = (code: number) => code === 32 || code === 9;

/** The first index in [from, to) that is not a blank, or `to`. */
function skipBlanks(text: string, from: number, to: number): number {
  while (from < to && isBlank(text.charCodeAt(from))) from++;
  return from;
}

/** The end of [from, to) without its trailing blanks. */
function trimBlanks(text: string, from: number, to: number): number {
  while (to > from && isBlank(text.charCodeAt(to - 1))) to--;
  return to;
}
