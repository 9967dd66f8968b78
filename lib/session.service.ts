import { Injectable } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import type { Observable } from 'rxjs';
import type { SessionEvent } from './events/session-event.js';
import { LOGIN_CLIENT_KEY } from './session/internal-keys.js';
import { storedLoginClient } from './session/login-client.js';
import { SessionEvents } from './events/session-events.js';
import { SessionEngine } from './session/session.engine.js';
import { asHttpOutage } from './session.exceptions.js';
import { SessionStoreUnavailableError } from './stores/store-outage.js';
import {
  handshakeClient,
  readonlyLoadRequest,
  type ReadonlyLoadClient,
} from './websockets/readonly-load-request.js';
import { LoadedReadonlySession, type ReadonlySession } from './websockets/readonly-session.js';
import {
  familyEndsAt,
  type SessionRecord,
  type UserSessionEntry,
} from './stores/session-record.js';

/** One session of a user, as listed by {@link SessionService.listForUser}: never its ID. */
export interface SessionListEntry {
  /** Opaque name of the session, for `revoke()`. */
  handle: string;
  createdAt: Date;
  lastSeenAt: Date;
  authenticatedAt: Date | undefined;
  expiresAt: Date;
  roles: readonly string[];
  /** `'cookie'`: a cookie session; `'token'`: a refresh-token family (token sessions). */
  kind: 'cookie' | 'token';
  /** The log-in's User-Agent (cut to 256 characters); cookie sessions logged in over HTTP only. */
  userAgent?: string;
  /** The log-in's client address (honouring `bruteForce.trustProxy`); as `userAgent`. */
  ip?: string;
}

/**
 * Sessions from code outside a request: list a user's sessions, revoke one,
 * log a user out everywhere, and watch lifecycle events. While the store is
 * unreachable every method rejects with `SessionStoreUnavailableException`
 * (503, `reason: store_unavailable`), as the request path does; it carries
 * no Retry-After header, since the service does not know the response.
 */
@Injectable()
export class SessionService {
  constructor(
    private readonly engine: SessionEngine,
    private readonly events: SessionEvents,
  ) {}

  /**
   * Lifecycle events: `created`, `rotated`, `destroyed`, `expired`,
   * `rejected`, `store_error`/`store_recovered` and the token events, each
   * with its `reason` (see {@link SessionEvent}). Never a session ID.
   */
  get events$(): Observable<SessionEvent> {
    return this.events.events$;
  }

  /**
   * Loads, read-only, the session a `Cookie` header names, outside any HTTP
   * request (a WebSocket handshake, a message queue...). Every rule of the
   * HTTP path holds, through the same loader: signature (any secret of the
   * list), idle and absolute timeouts, revocation, renewal forwards within
   * their grace, User-Agent binding (pass `userAgent`), and the guessing
   * defence (a badly signed cookie counts against `ip`).
   *
   * Nothing is written: no touch (loading it does not extend the idle
   * timeout), no cookie re-issued or cleared, no ID rotation due. A cookie
   * that names no live session answers a view with `isAuthenticated: false`
   * and its `endReason`. While the store is down it rejects with
   * `SessionStoreUnavailableException` (under `storeOutage: 'anonymous'`:
   * answers an empty view instead), like the request path.
   */
  async fromCookieHeader<TData extends object = Record<string, unknown>>(
    cookieHeader: string | undefined,
    client: ReadonlyLoadClient = {},
  ): Promise<ReadonlySession<TData>> {
    return (await this.loadReadonly(cookieHeader, client)) as ReadonlySession<TData>;
  }

  /**
   * {@link fromCookieHeader} for the HTTP request of a WebSocket handshake
   * (`handleConnection(client, request)` on @nestjs/platform-ws,
   * `socket.request` on socket.io): its `Cookie` and `User-Agent` headers,
   * and its client address as HTTP requests compute it (`bruteForce.trustProxy`).
   * Read-only: nothing is written.
   */
  async fromHandshake<TData extends object = Record<string, unknown>>(
    request: IncomingMessage,
  ): Promise<ReadonlySession<TData>> {
    const client = handshakeClient(request, this.engine.options.bruteForce?.trustProxy ?? 0);
    return (await this.loadReadonly(request.headers.cookie, client)) as ReadonlySession<TData>;
  }

  /** @internal The loader's session behind a read-only view (the WebSocket re-checks use its store key). */
  async loadReadonly(
    cookieHeader: unknown,
    client: ReadonlyLoadClient,
  ): Promise<LoadedReadonlySession> {
    const { loader, timing, options } = this.engine;
    const request = readonlyLoadRequest(cookieHeader, client);
    try {
      return new LoadedReadonlySession(await loader.load(request), timing);
    } catch (error) {
      if (error instanceof SessionStoreUnavailableError && options.storeOutage === 'anonymous') {
        return new LoadedReadonlySession(loader.degraded(request.hooks), timing);
      }
      throw asHttpOutage(error);
    }
  }

  /**
   * The user's live sessions, cookie sessions and token families alike,
   * oldest first. `userId` as `logIn()` took it: a number is the same user
   * as its decimal string, here as there.
   */
  async listForUser(userId: string | number): Promise<SessionListEntry[]> {
    const entries = await this.liveEntries(userId);
    return entries
      .map(({ record }) => ({
        handle: record.handle,
        createdAt: new Date(record.createdAt),
        lastSeenAt: new Date(record.lastSeenAt),
        authenticatedAt:
          record.authenticatedAt === undefined ? undefined : new Date(record.authenticatedAt),
        expiresAt: new Date(this.endsAt(record)),
        roles: record.roles ?? [],
        kind: record.refresh ? ('token' as const) : ('cookie' as const),
        ...storedLoginClient(record.data[LOGIN_CLIENT_KEY]),
      }))
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }

  /**
   * Revokes one session, only if it is this user's. Its next request is
   * answered 401 `revoked`. Answers whether a session was revoked.
   */
  async revoke(userId: string | number, handle: string): Promise<boolean> {
    const entry = (await this.liveEntries(userId)).find((e) => e.record.handle === handle);
    if (!entry) return false;
    return this.revokeEntry(entry);
  }

  /**
   * Logs a user out everywhere (optionally except one session): their
   * cookie sessions and token families (whose access tokens stop working
   * at once under revocation `'strict'`). Answers how many were revoked.
   */
  async revokeAllForUser(
    userId: string | number,
    options: { except?: string } = {},
  ): Promise<number> {
    const entries = await this.liveEntries(userId);
    const kept = entries.find((e) => e.record.handle === options.except);
    const doomed = entries.filter((e) => e !== kept);
    const { store, options: resolved } = this.engine;
    if (store.revokeAllForUser) {
      // One store operation instead of one per session (the listing above names them for events).
      const revoked = await this.storeCall('revokeAllForUser', () =>
        store.revokeAllForUser!(String(userId), Date.now(), resolved.endedRetentionMs, kept?.key),
      );
      for (const { record } of doomed) this.emitRevoked(record);
      return revoked;
    }
    let revoked = 0;
    for (const entry of doomed) {
      if (await this.revokeEntry(entry)) revoked++;
    }
    return revoked;
  }

  private async liveEntries(userId: string | number): Promise<UserSessionEntry[]> {
    const id = String(userId);
    const now = Date.now();
    const entries = await this.storeCall('listForUser', () => this.engine.store.listForUser(id));
    // The store may still hold sessions that ended by timeout (kept briefly to report why).
    return entries.filter(({ record }) => this.endsAt(record) > now);
  }

  private async revokeEntry(entry: UserSessionEntry): Promise<boolean> {
    const { store, options } = this.engine;
    const revoked = await this.storeCall('revoke', () =>
      store.revoke(entry.key, Date.now(), options.endedRetentionMs),
    );
    if (revoked) this.emitRevoked(entry.record);
    return revoked;
  }

  /** Code outside a request ended it: no request metadata to report. */
  private emitRevoked({ handle, userId, refresh, createdAt }: SessionRecord): void {
    const kind = refresh ? 'token' : 'cookie';
    this.events.emit({ type: 'destroyed', kind, handle, userId, reason: 'revoked', createdAt });
  }

  /** When a session ends: a cookie session by its timeouts, a token family by its lifetimes. */
  private endsAt({ createdAt, lastSeenAt, refresh }: SessionRecord): number {
    const tokens = this.engine.options.tokens;
    if (refresh && tokens) {
      return familyEndsAt({ createdAt, lastSeenAt }, tokens.refreshTtlMs, tokens.refreshIdleMs);
    }
    return this.engine.timing.endsAt(createdAt, lastSeenAt);
  }

  /** A store call through the outage monitor; an outage becomes the HTTP 503. */
  private async storeCall<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await this.engine.outage.run(call, operation);
    } catch (error) {
      throw asHttpOutage(error);
    }
  }
}
