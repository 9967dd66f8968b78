import type { CsrfSecretHolder, CsrfTokens } from '../csrf/csrf-tokens.js';
import type { EventOrigin } from '../events/event-origin.js';
import type { SessionRecord } from '../stores/session-record.js';
import { ChangeTracker, isForbiddenKey, serialize } from './change-tracker.js';
import type { CommitFacts, RotationKind } from './commit-plan.js';
import {
  BOUND_AGENT_KEY,
  isInternalKey,
  LOGIN_CLIENT_KEY,
  ROTATED_AT_KEY,
} from './internal-keys.js';
import { loginClient } from './login-client.js';
import type { SessionTiming } from './session-timing.js';
import type { SessionApi, SessionEndReason, SessionLogIn } from './session.interface.js';

/**
 * The request a session belongs to, as the session sees it: told when the
 * app changes the session (so the response waits for a commit), and asked
 * to end or save the session right now (`destroy()`, `save()`).
 */
export interface SessionRequestHooks {
  /** The request, for the metadata of the events it causes (none outside a request). */
  readonly origin?: EventOrigin;
  sessionChanged(): void;
  destroyNow(session: RequestSession): Promise<void>;
  saveNow(session: RequestSession): Promise<void>;
}

/** What every session of the module shares: its time rules, size bound and CSRF tokens. */
export interface SessionSettings {
  timing: SessionTiming;
  csrf: CsrfTokens;
  /** The bound on the data's serialized size; default none. */
  maxSessionBytes?: number;
}

/** A session found in the store for this request's cookie. */
export interface LoadedSession {
  id: string;
  key: string;
  record: SessionRecord;
  /** Reached through a renewal forward (an old ID within its grace): never renewed from here. */
  forwarded: boolean;
  signedWithRetiredSecret: boolean;
  agentDigest: string | undefined;
}

/** Why a request has no session, and what its cookie still allows. */
export interface NoSession {
  /** Why the request's cookie named no live session (`undefined`: it sent none). */
  endReason?: SessionEndReason;
  /** The request's cookie names no live session: cleared at commit unless replaced. */
  cookieIsStale?: boolean;
  agentDigest?: string;
  /** Past the guessing defence's limit: seconds to wait (routes that need a session answer 429). */
  guessingRetryAfter?: number;
  /**
   * The cookie named a session rotated away moments ago (a forward that no
   * longer loads): `destroy()` still ends the session it moved into, so a
   * logout racing a rotation sticks.
   */
  movedFromKey?: string;
  /**
   * The store could not be reached to load it (`storeOutage: 'anonymous'`):
   * it reads as empty and is never saved anew over the user's cookie.
   */
  degraded?: boolean;
}

/** Session metadata in epoch ms (the public getters turn times into Dates). */
interface SessionMeta {
  handle: string | undefined;
  userId: string | undefined;
  roles: readonly string[];
  createdAt: number;
  lastSeenAt: number;
  authenticatedAt: number | undefined;
}

/**
 * The in-memory session of one request. It records what the app did (data
 * through its ChangeTracker, a requested rotation, a log-in) and owns where
 * it stands in the store; the committer reads its {@link CommitFacts} and
 * moves it on only through the named steps below (`committedAs`,
 * `followedTo`, `activityCommitted`, `ended`...).
 */
export class RequestSession implements SessionApi, CommitFacts, CsrfSecretHolder {
  readonly data: ChangeTracker;
  readonly endReason: SessionEndReason | undefined;
  readonly agentDigest: string | undefined;
  readonly guessingRetryAfter: number | undefined;
  readonly degraded: boolean;
  private meta: SessionMeta;
  /** ID, store key and record as loaded or last committed; `undefined`: not in the store. */
  private stored: { id: string; key: string; record: SessionRecord } | undefined;
  private rotation: RotationKind | undefined;
  private staleCookie: boolean;
  private retiredSecret: boolean;
  private reachedThroughForward: boolean;
  private movedFrom: string | undefined;

  private constructor(
    private readonly hooks: SessionRequestHooks,
    private readonly settings: SessionSettings,
    loaded: LoadedSession | undefined,
    none: NoSession,
    now: number,
  ) {
    const record = loaded?.record;
    this.stored = loaded && { id: loaded.id, key: loaded.key, record: loaded.record };
    this.data = new ChangeTracker(record?.data, settings.maxSessionBytes);
    this.meta = {
      handle: record?.handle,
      userId: record?.userId,
      roles: record?.roles ?? [],
      createdAt: record?.createdAt ?? now,
      lastSeenAt: record?.lastSeenAt ?? now,
      authenticatedAt: record?.authenticatedAt,
    };
    this.endReason = none.endReason;
    this.agentDigest = loaded ? loaded.agentDigest : none.agentDigest;
    this.guessingRetryAfter = none.guessingRetryAfter;
    this.degraded = none.degraded ?? false;
    this.staleCookie = none.cookieIsStale ?? false;
    this.retiredSecret = loaded?.signedWithRetiredSecret ?? false;
    this.reachedThroughForward = loaded?.forwarded ?? false;
    this.movedFrom = none.movedFromKey;
  }

  /** The live session a cookie named. */
  static live(
    hooks: SessionRequestHooks,
    settings: SessionSettings,
    loaded: LoadedSession,
    now: number,
  ): RequestSession {
    return new RequestSession(hooks, settings, loaded, {}, now);
  }

  /** A request without a live session (no cookie, or one that names none: see `why`). */
  static fresh(
    hooks: SessionRequestHooks,
    settings: SessionSettings,
    why: NoSession,
    now: number,
  ): RequestSession {
    return new RequestSession(hooks, settings, undefined, why, now);
  }

  // ---- the public session (SessionApi) ----

  get id(): string | undefined {
    return this.stored?.id;
  }

  get handle(): string | undefined {
    return this.meta.handle;
  }

  get userId(): string | undefined {
    return this.meta.userId;
  }

  get roles(): readonly string[] {
    return this.meta.roles;
  }

  get createdAt(): Date {
    return new Date(this.meta.createdAt);
  }

  get lastSeenAt(): Date {
    return new Date(this.meta.lastSeenAt);
  }

  get authenticatedAt(): Date | undefined {
    const at = this.meta.authenticatedAt;
    return at === undefined ? undefined : new Date(at);
  }

  get isNew(): boolean {
    return this.stored === undefined;
  }

  get isAuthenticated(): boolean {
    return this.meta.userId !== undefined;
  }

  /** Epoch ms at which the session ends unless it is active again. */
  get expiresAtMs(): number {
    return this.settings.timing.endsAt(this.meta.createdAt, this.meta.lastSeenAt);
  }

  get expiresAt(): Date {
    return new Date(this.expiresAtMs);
  }

  get(key: string): unknown {
    if (isInternalKey(key)) return undefined;
    // A value handed out may be mutated in place, so a read counts as a possible change.
    this.hooks.sessionChanged();
    return this.data.get(key);
  }

  set(key: string, value: unknown): void {
    assertUsableKey(key);
    // Fails here, in the app's code, rather than at commit: a value JSON cannot
    // hold, or one that takes the session over maxSessionBytes (413, nothing changed).
    this.data.set(key, value, serialize(key, value));
    this.hooks.sessionChanged();
  }

  unset(key: string): void {
    if (isInternalKey(key)) return;
    this.hooks.sessionChanged();
    this.data.unset(key);
  }

  has(key: string): boolean {
    return !isInternalKey(key) && this.data.has(key);
  }

  keys(): string[] {
    return this.data.keys().filter((key) => !isInternalKey(key));
  }

  /** The current CSRF token of this session (creates the session's CSRF secret on first use). */
  get csrfToken(): string {
    return this.settings.csrf.tokenFor(this);
  }

  async logIn(login: SessionLogIn): Promise<void> {
    if (login === null || typeof login !== 'object') {
      throw new TypeError('session.logIn() needs { userId, roles? }');
    }
    const { userId, roles = [], keep = [] } = login;
    const usable =
      (typeof userId === 'string' && userId !== '') ||
      (typeof userId === 'number' && Number.isFinite(userId));
    if (!usable) {
      // NaN and Infinity would be stored as the users "NaN" and "Infinity".
      throw new TypeError('session.logIn(): userId must be a non-empty string or a finite number');
    }
    assertRoles(roles);
    this.hooks.sessionChanged();
    // Starts clean: only the app's allow-listed keys survive; module keys (the
    // CSRF secret among them) are renewed, so pre-login tokens die here.
    this.data.reset(keep.filter((key) => !isInternalKey(key)));
    const origin = this.hooks.origin;
    if (origin) this.data.set(LOGIN_CLIENT_KEY, loginClient(origin));
    this.meta.userId = String(userId);
    this.meta.roles = [...roles];
    this.meta.authenticatedAt = Date.now();
    this.rotation = 'login';
  }

  setRoles(roles: readonly string[]): void {
    assertRoles(roles);
    if (sameRoles(roles, this.meta.roles)) return;
    this.meta.roles = [...roles];
    this.hooks.sessionChanged();
    this.rotation ??= 'privilege';
  }

  async regenerate(): Promise<void> {
    this.hooks.sessionChanged();
    this.rotation ??= 'route';
  }

  async reauthenticate(): Promise<void> {
    if (this.meta.userId === undefined) {
      throw new TypeError('session.reauthenticate() needs a logged-in session; use logIn() first');
    }
    this.hooks.sessionChanged();
    this.meta.authenticatedAt = Date.now();
    this.rotation ??= 'reauth';
  }

  async destroy(): Promise<void> {
    await this.hooks.destroyNow(this);
  }

  async save(): Promise<void> {
    await this.hooks.saveNow(this);
  }

  toJSON(): Record<string, unknown> {
    // Serializing a session (e.g. returning it from a handler) must never leak
    // its ID, nor the module's own keys (the CSRF secret among them).
    const data = this.data.snapshot();
    for (const key of Object.keys(data)) if (isInternalKey(key)) delete data[key];
    return { handle: this.handle, userId: this.userId, roles: this.roles, data };
  }

  // ---- module-owned keys (CsrfSecretHolder) ----

  /** @internal Module-owned keys (see internal-keys.ts). */
  internalGet(key: string): unknown {
    return this.data.get(key);
  }

  /** @internal */
  internalSet(key: string, value: unknown): void {
    this.hooks.sessionChanged();
    this.data.set(key, value);
  }

  // ---- what the committer reads (CommitFacts) ----

  /** ID, key and record as loaded or last committed; `undefined` while not in the store. */
  get inStore():
    { readonly id: string; readonly key: string; readonly record: SessionRecord } | undefined {
    return this.stored;
  }

  get isStored(): boolean {
    return this.stored !== undefined;
  }

  get hasContent(): boolean {
    return this.rotation !== undefined || !this.data.isEmpty;
  }

  get requestedRotation(): RotationKind | undefined {
    return this.rotation;
  }

  get mayHaveChanged(): boolean {
    return this.data.mayHaveChanged;
  }

  get lastSeenAtMs(): number {
    return this.meta.lastSeenAt;
  }

  get createdAtMs(): number {
    return this.meta.createdAt;
  }

  get authenticatedAtMs(): number | undefined {
    return this.meta.authenticatedAt;
  }

  get rotatedAtMs(): number {
    const at = this.data.get(ROTATED_AT_KEY);
    return typeof at === 'number' ? at : this.meta.createdAt;
  }

  get forwarded(): boolean {
    return this.reachedThroughForward;
  }

  get cookieIsStale(): boolean {
    return this.staleCookie;
  }

  get signedWithRetiredSecret(): boolean {
    return this.retiredSecret;
  }

  /** The store key `destroy()` ends: the session's own, or the one a dead forward led to. */
  get keyToDestroy(): string | undefined {
    return this.stored?.key ?? this.movedFrom;
  }

  /** The record as the store should hold it now (binding the User-Agent on first write). */
  toRecord(): SessionRecord {
    if (this.agentDigest !== undefined && this.data.get(BOUND_AGENT_KEY) === undefined) {
      this.data.set(BOUND_AGENT_KEY, this.agentDigest);
    }
    const { handle, userId, roles, createdAt, lastSeenAt, authenticatedAt } = this.meta;
    const record: SessionRecord = {
      handle: handle!,
      createdAt,
      lastSeenAt,
      data: this.data.snapshot(),
    };
    if (userId !== undefined) record.userId = userId;
    if (roles.length > 0) record.roles = [...roles];
    if (authenticatedAt !== undefined) record.authenticatedAt = authenticatedAt;
    return record;
  }

  /** The request this session belongs to, for its events' metadata. */
  get origin(): EventOrigin | undefined {
    return this.hooks.origin;
  }

  // ---- the committer's steps ----

  /** A new session record (a creation, or a log-in rotation): new handle; the absolute timeout counts from now. */
  beginsNewRecord(handle: string, now: number): void {
    this.meta.handle = handle;
    this.meta.createdAt = now;
    this.meta.lastSeenAt = now;
  }

  /** Activity recorded at `now` (a rotation writes it; a loser restores the previous value). */
  seenAt(now: number): void {
    this.meta.lastSeenAt = now;
  }

  /** Created or rotated: this is now the session's ID, key and stored record. */
  committedAs(id: string, key: string, record: SessionRecord): void {
    this.stored = { id, key, record };
    this.rotation = undefined;
    this.staleCookie = false;
    this.retiredSecret = false;
    this.data.markCommitted();
  }

  /**
   * Another request rotated this session first: from now on it is the
   * session under `key` (the winner's), reached as through a forward.
   */
  followedTo(key: string): void {
    if (this.stored) this.stored = { ...this.stored, key };
    this.rotation = undefined;
    this.reachedThroughForward = true;
  }

  /** A delta or touch was written at `now`. */
  activityCommitted(now: number, delta: ReturnType<ChangeTracker['delta']>): void {
    this.meta.lastSeenAt = now;
    this.data.markDeltaCommitted(delta);
  }

  /** The cookie was re-issued with the current secret. */
  cookieResigned(): void {
    this.retiredSecret = false;
  }

  /** The stale cookie was cleared. */
  staleCookieCleared(): void {
    this.staleCookie = false;
  }

  /**
   * The session is gone (destroyed here, or ended by another request): this
   * request goes on without one. `clearCookie`: its cookie is cleared at
   * commit (false when the answer that ends it clears the cookie itself).
   */
  ended(now: number, clearCookie: boolean): void {
    this.staleCookie = clearCookie && (this.stored !== undefined || this.staleCookie);
    this.stored = undefined;
    this.movedFrom = undefined;
    this.rotation = undefined;
    this.retiredSecret = false;
    this.data.reset();
    this.meta = {
      handle: undefined,
      userId: undefined,
      roles: [],
      createdAt: now,
      lastSeenAt: now,
      authenticatedAt: undefined,
    };
  }
}

function assertUsableKey(key: unknown): void {
  if (typeof key !== 'string' || key === '') {
    throw new TypeError('Session keys must be non-empty strings');
  }
  if (isInternalKey(key)) {
    throw new TypeError(
      `'${key}': session keys starting with '$' are reserved for the session module`,
    );
  }
  if (isForbiddenKey(key)) {
    throw new TypeError(`'${key}' cannot be a session key (it could pollute object prototypes)`);
  }
}

function assertRoles(roles: unknown): void {
  if (!Array.isArray(roles) || !roles.every((r) => typeof r === 'string')) {
    throw new TypeError('Session roles must be an array of strings');
  }
}

/** The same roles in the same order (a change of either is a privilege change). */
export function sameRoles(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((role, i) => role === b[i]);
}
