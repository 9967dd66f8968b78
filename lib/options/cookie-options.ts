import { IsBoolean, IsIn, IsOptional, IsString, Matches } from 'class-validator';
import { optionGroup } from './with-defaults.js';

/** Cookie settings of `SessionModuleOptions`. */
export interface SessionCookieOptions {
  /** Cookie name. Default `'sid'`, or `'__Host-sid'` when `secure` (`'__Secure-sid'` if a `domain` is set). */
  name?: string;
  /** Send only over HTTPS. Default: `process.env.NODE_ENV === 'production'`. */
  secure?: boolean;
  /** SameSite attribute. Default `'lax'`; `'none'` requires `secure`. */
  sameSite?: 'lax' | 'strict' | 'none';
  /** Domain attribute. Default: none (host-only cookie). Not allowed with a `__Host-` name. */
  domain?: string;
  /** Path attribute. Default `'/'` (required for a `__Host-` name). */
  path?: string;
  /** Hide the cookie from page scripts. Default `true`. */
  httpOnly?: boolean;
}

/** RFC 6265 cookie-name token. */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * The `cookie` group with its defaults on the fields (documented on
 * {@link SessionCookieOptions}) and a validator on each. Rules between fields
 * (prefixes, SameSite=None) are in `crossFieldProblems`.
 */
export class CookieOptionsSchema implements SessionCookieOptions {
  /** Default derived from `secure` and `domain` by {@link CookieOptionsSchema.from}. */
  @IsString({ message: 'cookie.name must be a string' })
  @Matches(COOKIE_NAME, { message: 'cookie.name must be a valid cookie name token' })
  name?: string;

  // Read when the options are resolved (app creation), not when this file is loaded.
  @IsBoolean({ message: 'cookie.secure must be a boolean' })
  secure: boolean = process.env.NODE_ENV === 'production';

  @IsIn(['lax', 'strict', 'none'], { message: "cookie.sameSite must be 'lax', 'strict' or 'none'" })
  sameSite: 'lax' | 'strict' | 'none' = 'lax';

  @IsOptional()
  @IsString({ message: 'cookie.domain must be a string' })
  @Matches(/^[A-Za-z0-9.-]+$/, { message: 'cookie.domain must be a host name' })
  domain?: string;

  @IsString({ message: 'cookie.path must be a string' })
  @Matches(/^\/[\x21-\x3a\x3c-\x7e]*$/, {
    message: "cookie.path must start with '/' and contain no ';' or spaces",
  })
  path: string = '/';

  @IsBoolean({ message: 'cookie.httpOnly must be a boolean' })
  httpOnly: boolean = true;

  /**
   * The group for `given` with the defaults filled in, the name's included:
   * a secure cookie gets the strictest prefix it can carry (`__Host-` allows
   * no Domain). A non-object is handed back for validation to reject.
   */
  static from(given: unknown): CookieOptionsSchema {
    const cookie = optionGroup(given, () => new CookieOptionsSchema());
    if (cookie instanceof CookieOptionsSchema) {
      const securePrefix = cookie.domain === undefined ? '__Host-' : '__Secure-';
      cookie.name ??= cookie.secure ? `${securePrefix}sid` : 'sid';
    }
    return cookie;
  }
}
