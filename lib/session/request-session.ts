import type { CsrfTokens } from '../csrf/csrf-tokens.js';
import type { SessionRecord } from '../stores/session-record.js';
import { ChangeTracker, isForbiddenKey, serialize } from './change-tracker.js';
import { isInternalKey } from './internal-keys.js';
import type { SessionApi, SessionEndReason, SessionLogIn } from './session.interface.js';

/** What a request session asks of the layer that persists it. */
export interface SessionPersistence {
  destroy(session: RequestSession): Promise<void>;
  save(session: RequestSession): Promise<void>;
  /** The app read or changed the session: a commit may be needed before the response. */
  changed(): void;
}

/** Session metadata as the engine works on it (times in epoch ms). */
export interface SessionMeta {
  handle: string | undefined;
  userId: string | undefined;
  roles: readonly string[];
  createdAt: number;
  lastSeenAt: number;
  authenticatedAt: number | undefined;
}

/** A rotation the next commit must perform. `logIn` also starts a new session record. */
export type PendingRotation = 'login' | 'privilege' | 'regenerate' | 'periodic';

/**
 * The in-memory session of one request. It only records what the app did;
 * the engine turns that into store writes at commit.
 */
export class RequestSession implements SessionApi {
  /** Current ID and store key; `undefined` until the session exists in the store. */
  id: string | undefined;
  key: string | undefined;
  /** The record as loaded/last committed (`null`: not in the store yet). */
  persisted: SessionRecord | null;
  readonly endReason: SessionEndReason | undefined;
  readonly data: ChangeTracker;

  /** Metadata in epoch ms; the public getters below turn times into Dates. */
  readonly meta: SessionMeta;

  pendingRotation: PendingRotation | undefined;
  /** The client holds a cookie that names no live session: clear it unless a new one is set. */
  staleCookie = false;
  /** The cookie was signed with a retired secret: re-issue it with the current one. */
  resignCookie = false;
  /**
   * Reached through a forwarding record (an old ID within its grace period):
   * reads and writes go to the new session; the cookie is not touched.
   */
  forwarded = false;
  /** Digest of this request's User-Agent, when sessions are bound to it. */
  agentDigest: string | undefined;
  /**
   * This client sent too many session cookies that do not verify: seconds it
   * must wait. Routes that require a session answer 429; others (a log-in
   * among them) go on with this fresh session.
   */
  guessingRetryAfter: number | undefined;
  /**
   * The cookie named a session that was rotated away moments ago (a forward
   * that no longer loads): nothing is loaded, but `destroy()` ends the
   * session it moved into, so a logout racing a rotation still sticks.
   */
  movedFromKey: string | undefined;
  /**
   * The store could not be reached to load this request's session
   * (`storeOutage: 'anonymous'`): it reads as empty and must never be saved.
   */
  degraded = false;

  constructor(
    private readonly persistence: SessionPersistence,
    private readonly timeouts: {
      idleTimeoutMs: number;
      absoluteTimeoutMs: number;
      /** The bound on the data's serialized size; default none. */
      maxSessionBytes?: number;
    },
    loaded: { id: string; key: string; record: SessionRecord } | undefined,
    endReason: SessionEndReason | undefined,
    now: number,
    private readonly csrf?: CsrfTokens,
  ) {
    this.endReason = endReason;
    this.persisted = loaded?.record ?? null;
    this.id = loaded?.id;
    this.key = loaded?.key;
    const record = loaded?.record;
    this.data = new ChangeTracker(record?.data, timeouts.maxSessionBytes);
    this.meta = {
      handle: record?.handle,
      userId: record?.userId,
      roles: record?.roles ?? [],
      createdAt: record?.createdAt ?? now,
      lastSeenAt: record?.lastSeenAt ?? now,
      authenticatedAt: record?.authenticatedAt,
    };
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
    return this.meta.authenticatedAt === undefined
      ? undefined
      : new Date(this.meta.authenticatedAt);
  }

  get isNew(): boolean {
    return this.persisted === null;
  }

  get isAuthenticated(): boolean {
    return this.userId !== undefined;
  }

  /** Epoch ms at which the session ends unless it is active again. */
  get expiresAtMs(): number {
    return Math.min(
      this.meta.lastSeenAt + this.timeouts.idleTimeoutMs,
      this.meta.createdAt + this.timeouts.absoluteTimeoutMs,
    );
  }

  get expiresAt(): Date {
    return new Date(this.expiresAtMs);
  }

  get(key: string): unknown {
    if (isInternalKey(key)) return undefined;
    // A value handed out may be mutated in place, so a read counts as a possible change.
    this.persistence.changed();
    return this.data.get(key);
  }

  set(key: string, value: unknown): void {
    assertUsableKey(key);
    // Fails here, in the app's code, rather than at commit: a value JSON cannot
    // hold, or one that takes the session over maxSessionBytes (413, nothing changed).
    this.data.set(key, value, serialize(key, value));
    this.persistence.changed();
  }

  unset(key: string): void {
    if (isInternalKey(key)) return;
    this.persistence.changed();
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
    if (!this.csrf) throw new Error('CSRF tokens are not available on this session');
    return this.csrf.tokenFor(this);
  }

  /** @internal Module-owned keys (see internal-keys.ts). */
  internalGet(key: string): unknown {
    return this.data.get(key);
  }

  /** @internal */
  internalSet(key: string, value: string): void {
    this.persistence.changed();
    this.data.set(key, value);
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
    this.persistence.changed();
    // Starts clean: only the app's allow-listed keys survive; module keys (the
    // CSRF secret among them) are renewed, so pre-login tokens die here.
    this.data.reset(keep.filter((key) => !isInternalKey(key)));
    this.meta.userId = String(userId);
    this.meta.roles = [...roles];
    this.meta.authenticatedAt = Date.now();
    this.pendingRotation = 'login';
  }

  setRoles(roles: readonly string[]): void {
    assertRoles(roles);
    if (sameRoles(roles, this.meta.roles)) return;
    this.meta.roles = [...roles];
    this.persistence.changed();
    this.pendingRotation ??= 'privilege';
  }

  async regenerate(): Promise<void> {
    this.persistence.changed();
    this.pendingRotation ??= 'regenerate';
  }

  async reauthenticate(): Promise<void> {
    if (this.meta.userId === undefined) {
      throw new TypeError('session.reauthenticate() needs a logged-in session; use logIn() first');
    }
    this.persistence.changed();
    this.meta.authenticatedAt = Date.now();
    this.pendingRotation ??= 'privilege';
  }

  async destroy(): Promise<void> {
    await this.persistence.destroy(this);
  }

  async save(): Promise<void> {
    await this.persistence.save(this);
  }

  /** After a destroy: the session is gone and this request continues without one. */
  resetToFresh(now: number): void {
    if (this.persisted !== null) this.staleCookie = true;
    this.persisted = null;
    this.id = undefined;
    this.key = undefined;
    this.pendingRotation = undefined;
    this.resignCookie = false;
    this.data.reset();
    Object.assign(this.meta, {
      handle: undefined,
      userId: undefined,
      roles: [],
      createdAt: now,
      lastSeenAt: now,
      authenticatedAt: undefined,
    });
  }

  /** Whether anything would be written at commit if the session is not in the store yet. */
  get hasContent(): boolean {
    return this.pendingRotation !== undefined || !this.data.isEmpty;
  }

  toJSON(): Record<string, unknown> {
    // Serializing a session (e.g. returning it from a handler) must never leak
    // its ID, nor the module's own keys (the CSRF secret among them).
    const data = this.data.snapshot();
    for (const key of Object.keys(data)) if (isInternalKey(key)) delete data[key];
    return { handle: this.handle, userId: this.userId, roles: this.roles, data };
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

function sameRoles(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((role, i) => role === b[i]);
}
