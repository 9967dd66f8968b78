/** What `session.logIn()` takes. */
export interface SessionLogIn {
  /** The authenticated user (numbers are stored as strings). */
  userId: string | number;
  /** The user's roles, read by `@RequireSession({ roles })`. Default `[]`. */
  roles?: readonly string[];
  /**
   * Keys of the pre-login session to carry into the new one (e.g. a cart).
   * Everything else is dropped: a fixation defence. Default: none.
   */
  keep?: readonly string[];
}

/** Why there is no live session on this request. */
export type SessionEndReason = 'no_session' | 'idle_timeout' | 'absolute_timeout' | 'revoked';

/**
 * The session of the current request, given by `@Session()`. Data is kept as
 * top-level keys; only changed keys are written back, after the handler and
 * before the response is sent.
 */
export interface SessionApi<TData extends object = Record<string, unknown>> {
  /** The session ID, or `undefined` before anything was written. Never log it. */
  readonly id: string | undefined;
  /** True when the request came without a live session. */
  readonly isNew: boolean;
  /** True when a user is logged in. */
  readonly isAuthenticated: boolean;
  /** Why the request's cookie named no live session (`undefined` when it did). */
  readonly endReason: SessionEndReason | undefined;
  /** Opaque public name of this session, as in `SessionService.listForUser()`. */
  readonly handle: string | undefined;
  readonly userId: string | undefined;
  readonly roles: readonly string[];
  readonly createdAt: Date;
  readonly lastSeenAt: Date;
  readonly authenticatedAt: Date | undefined;
  /** When the session ends if idle from now on (idle or absolute timeout, whichever is first). */
  readonly expiresAt: Date;
  /**
   * The session's CSRF token, for `CsrfGuard` (header `x-csrf-token`). Reading
   * it creates the session's CSRF secret (and so the session) if needed;
   * `logIn()` renews it.
   */
  readonly csrfToken: string;

  get<K extends keyof TData & string>(key: K): TData[K] | undefined;
  /** Sets a top-level key (JSON-serializable). Creates the session if there is none yet. */
  set<K extends keyof TData & string>(key: K, value: TData[K]): void;
  unset(key: keyof TData & string): void;
  has(key: keyof TData & string): boolean;
  keys(): string[];

  /** Logs a user in: new ID at commit, pre-login data dropped except `keep`. */
  logIn(login: SessionLogIn): Promise<void>;
  /** Changes the roles: a privilege change, so the ID is rotated at commit. */
  setRoles(roles: readonly string[]): void;
  /** New ID at commit, same data. */
  regenerate(): Promise<void>;
  /**
   * Records a fresh proof of identity (the app has just checked the password
   * again): `authenticatedAt` becomes now, for `@RequireSession({ freshWithin })`,
   * and the ID is rotated at commit.
   */
  reauthenticate(): Promise<void>;
  /** Ends the session now: deleted from the store, cookie cleared. */
  destroy(): Promise<void>;
  /** Commits now instead of before the response (e.g. before streaming). */
  save(): Promise<void>;
}
