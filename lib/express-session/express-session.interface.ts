/** A node-style callback: called with `null` on success, the error otherwise. */
export type ExpressSessionCallback = (error: unknown) => void;

/**
 * `req.session.cookie` with `expressSessionCompat`: what the module's
 * session cookie is, read-only (its lifetime follows `absoluteTimeout`, its
 * attributes the `cookie` option; assigning `maxAge` or `expires` throws).
 */
export interface ExpressSessionCookie {
  /** Milliseconds the cookie has left (until the session's absolute timeout). */
  readonly maxAge: number;
  /** The cookie's full lifetime in milliseconds: `absoluteTimeout`. */
  readonly originalMaxAge: number;
  /** When the cookie expires. */
  readonly expires: Date;
  readonly httpOnly: boolean;
  readonly secure: boolean;
  readonly sameSite: 'lax' | 'strict' | 'none';
  readonly path: string;
  readonly domain: string | undefined;
}

/**
 * `req.session` with `SessionModule.forRoot({ expressSessionCompat: true })`:
 * express-session's API over this module's session. Data are the session's
 * top-level keys (`req.session.cart = [...]`, `delete req.session.cart`,
 * `'cart' in req.session`), JSON values; objects read from it may be changed
 * in place (`req.session.passport.user = id`), the change is saved at commit.
 * Every method takes a node-style callback (and then returns the session),
 * or returns a promise when called without one.
 */
export interface ExpressSession {
  /** The session ID (`undefined` until the session is first saved). Never log it. */
  readonly id: string | undefined;
  readonly cookie: ExpressSessionCookie;
  /**
   * express-session's semantics: the session is ended in the store (a
   * logged-in user is logged out) and `req.session` starts again empty, under
   * a new ID once something is written. The object this was called on keeps
   * the old data, read-only (what Passport's `keepSessionInfo` copies).
   */
  regenerate(callback: ExpressSessionCallback): this;
  regenerate(): Promise<void>;
  /** Commits now (Passport's log-in turns into a log-in of this module's session here). */
  save(callback: ExpressSessionCallback): this;
  save(): Promise<void>;
  /** Ends the session now; `req.session` is then an empty session (express-session: `undefined`). */
  destroy(callback: ExpressSessionCallback): this;
  destroy(): Promise<void>;
  /**
   * The session is loaded once per request and is already current: this
   * keeps unsaved changes and does not pick up another request's writes.
   */
  reload(callback: ExpressSessionCallback): this;
  reload(): Promise<void>;
  /** Nothing to do: activity is recorded at commit (`touchAfter`). Returns the session. */
  touch(): this;
  /** As `touch()`: the cookie's lifetime follows `absoluteTimeout`. */
  resetMaxAge(): this;
  [key: string]: unknown;
}
