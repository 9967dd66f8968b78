import type { RequestSession } from '../session/request-session.js';
import type { SessionTiming } from '../session/session-timing.js';
import type { SessionApi, SessionEndReason } from '../session/session.interface.js';
import type { SessionRecord } from '../stores/session-record.js';

/**
 * A session loaded for reading only, outside an HTTP request: what
 * `SessionService.fromCookieHeader()` / `fromHandshake()` answer and what
 * `@Session()` gives a WebSocket message handler. It has no `set()`,
 * `logIn()` or `destroy()`: nothing loaded this way is ever written (no
 * touch, no cookie), so it never extends the session's idle timeout.
 */
export interface ReadonlySession<TData extends object = Record<string, unknown>> extends Pick<
  SessionApi<TData>,
  | 'isAuthenticated'
  | 'endReason'
  | 'handle'
  | 'userId'
  | 'roles'
  | 'createdAt'
  | 'lastSeenAt'
  | 'authenticatedAt'
  | 'get'
  | 'has'
  | 'keys'
> {
  /** When the session ends unless an HTTP request is active on it first. */
  readonly expiresAt: Date;
  /**
   * Past the guessing defence's limit (too many badly signed cookies from this
   * client): seconds it must wait. A session-requiring handler refuses it.
   */
  readonly guessingRetryAfter: number | undefined;
}

/** The store's view of a session, as a re-check through `peek` answers it (metadata, no data). */
type SessionMetaRecord = Pick<
  SessionRecord,
  'handle' | 'userId' | 'roles' | 'createdAt' | 'lastSeenAt' | 'authenticatedAt'
>;

/**
 * The {@link ReadonlySession} behind the API: the loader's `RequestSession`
 * (so every load rule is the HTTP path's), plus the store key a socket's
 * re-check reads and what those re-checks learn (new roles, newer activity,
 * the end). The key stays inside: never exposed, never serialized.
 */
export class LoadedReadonlySession implements ReadonlySession {
  #key: string | undefined;
  #meta: SessionMetaRecord | undefined;
  #endReason: SessionEndReason | undefined;

  constructor(
    private readonly session: RequestSession,
    private readonly timing: SessionTiming,
  ) {
    this.#key = session.inStore?.key;
    this.#meta = session.inStore?.record;
    this.#endReason = session.endReason;
  }

  /** @internal The store key re-checks read (the one the session lives under now). */
  get storeKey(): string | undefined {
    return this.#key;
  }

  /** @internal The session still lives, as the store holds it now (under `key`, after a rotation). */
  refreshed(key: string, record: SessionMetaRecord): void {
    this.#key = key;
    this.#meta = record;
  }

  /** @internal The session ended (logout, revocation, timeout): this view no longer authenticates. */
  ended(reason: SessionEndReason): void {
    this.#endReason = reason;
    this.#key = undefined;
    this.#meta = undefined;
  }

  get isAuthenticated(): boolean {
    return this.#meta?.userId !== undefined;
  }

  get endReason(): SessionEndReason | undefined {
    return this.#endReason;
  }

  get handle(): string | undefined {
    return this.#meta?.handle;
  }

  get userId(): string | undefined {
    return this.#meta?.userId;
  }

  get roles(): readonly string[] {
    return this.#meta?.roles ?? [];
  }

  get createdAt(): Date {
    return new Date(this.#meta?.createdAt ?? this.session.createdAtMs);
  }

  get lastSeenAt(): Date {
    return new Date(this.#meta?.lastSeenAt ?? this.session.lastSeenAtMs);
  }

  get authenticatedAt(): Date | undefined {
    const at = this.#meta?.authenticatedAt;
    return at === undefined ? undefined : new Date(at);
  }

  get expiresAt(): Date {
    const meta = this.#meta;
    return meta ? new Date(this.timing.endsAt(meta.createdAt, meta.lastSeenAt)) : new Date();
  }

  /** Epoch ms at which the session ends by its timeouts (`undefined`: no live session). */
  get endsAtMs(): number | undefined {
    const meta = this.#meta;
    return meta && this.timing.endsAt(meta.createdAt, meta.lastSeenAt);
  }

  get guessingRetryAfter(): number | undefined {
    return this.session.guessingRetryAfter;
  }

  get(key: string): never {
    // The loader's session hides module keys; its change hook is a no-op here (nothing is written).
    return (this.#meta ? this.session.get(key) : undefined) as never;
  }

  has(key: string): boolean {
    return this.#meta !== undefined && this.session.has(key);
  }

  keys(): string[] {
    return this.#meta ? this.session.keys() : [];
  }

  toJSON(): Record<string, unknown> {
    return { handle: this.handle, userId: this.userId, roles: this.roles };
  }
}
