import { createHash } from 'node:crypto';
import { SessionCookieCodec } from '../cookie/cookie.codec.js';
import { CookieSigner, type VerifiedId } from '../cookie/cookie.signer.js';
import type { SessionEvents } from '../events/session-events.js';
import type { ResolvedSessionOptions } from '../session.options.js';
import type { SessionRecord } from '../stores/session-record.js';
import type { SessionStore } from '../stores/session-store.interface.js';
import { StoreOutageMonitor } from '../stores/store-outage.js';
import { RequestSession, type SessionPersistence } from './request-session.js';
import { generateSessionHandle, generateSessionId, sessionStoreKey } from './session-id.js';
import { FailureLimiter } from './failure-limiter.js';
import { BOUND_AGENT_KEY, MOVED_TO_KEY, ROTATED_AT_KEY } from './internal-keys.js';
import type { SessionEndReason } from './session.interface.js';
import { CsrfTokens } from '../csrf/csrf-tokens.js';

/** Sessions are bound to a digest of the User-Agent, not the string itself. */
function agentDigest(userAgent: unknown): string {
  const text = typeof userAgent === 'string' ? userAgent : '';
  return createHash('sha256').update(text).digest('base64url').slice(0, 22);
}

/**
 * The session lifecycle, independent of the HTTP platform: load a session
 * from a Cookie header (verify, look up by hashed ID, enforce timeouts) and
 * commit what a request did to it (create, rotate, delta-write, touch).
 * Every store call goes through the outage monitor.
 */
export class SessionEngine {
  readonly signer: CookieSigner;
  readonly codec: SessionCookieCodec;
  readonly store: SessionStore;
  readonly outage: StoreOutageMonitor;
  readonly csrf: CsrfTokens;
  private readonly limiter?: FailureLimiter;

  constructor(
    readonly options: ResolvedSessionOptions,
    private readonly events: SessionEvents,
  ) {
    this.signer = new CookieSigner(options.secrets);
    this.codec = new SessionCookieCodec(options.cookie);
    this.store = options.store;
    this.outage = new StoreOutageMonitor(events);
    this.csrf = new CsrfTokens(options.secrets);
    if (options.bruteForce) {
      const { maxFailures, windowMs } = options.bruteForce;
      this.limiter = new FailureLimiter(this.store, this.outage, events, maxFailures, windowMs);
    }
  }

  /**
   * The session named by a Cookie header. Without a (valid) cookie this makes
   * no store call (DESIGN rule 3); an invalid or ended session is never
   * adopted: the request gets a fresh, empty session (rule 2).
   */
  load(
    cookieHeader: unknown,
    persistence: SessionPersistence,
    userAgent?: unknown,
    client?: () => string,
  ): RequestSession | Promise<RequestSession> {
    const now = Date.now();
    const agent = this.options.bindToUserAgent ? agentDigest(userAgent) : undefined;
    const raw = this.codec.read(cookieHeader);
    // Synchronous answers for the common cases: most visitors have no cookie.
    if (raw === undefined) return this.fresh(persistence, undefined, now, agent);
    const verified = this.signer.verify(raw);
    if (!verified) {
      const fresh = this.fresh(persistence, 'no_session', now, agent);
      return this.limiter && client ? this.limiter.fail(client()).then(() => fresh) : fresh;
    }
    return this.lookup(verified, persistence, now, agent, client);
  }

  private async lookup(
    verified: VerifiedId,
    persistence: SessionPersistence,
    now: number,
    agent: string | undefined,
    client: (() => string) | undefined,
  ): Promise<RequestSession> {
    const key = verified.key;
    const record = await this.outage.run(() => this.store.get(key));
    if (!record) {
      // A well-signed ID the store never heard of (or forgot): counts as a guess too.
      if (this.limiter && client) await this.limiter.fail(client());
      return this.fresh(persistence, 'no_session', now, agent);
    }
    if (record.revokedAt !== undefined) return this.fresh(persistence, 'revoked', now, agent);
    const movedTo = record.data[MOVED_TO_KEY];
    if (movedTo !== undefined) return this.follow(verified, movedTo, persistence, now, agent);
    const ended = this.timedOut(record, now);
    if (ended) return this.end(persistence, record, ended, now, agent);
    if (agent !== undefined && !this.agentMatches(record, agent)) {
      return this.revokeHijacked(persistence, key, record, now, agent);
    }
    const session = this.live(persistence, verified.id, key, record, now, agent);
    session.resignCookie = verified.signedWithRetiredSecret;
    return session;
  }

  /** Which timeout, if any, has ended this record (both counted from its own timestamps). */
  private timedOut(
    record: SessionRecord,
    now: number,
  ): 'idle_timeout' | 'absolute_timeout' | undefined {
    if (now >= record.createdAt + this.options.absoluteTimeoutMs) return 'absolute_timeout';
    if (now >= record.lastSeenAt + this.options.idleTimeoutMs) return 'idle_timeout';
    return undefined;
  }

  private live(
    persistence: SessionPersistence,
    id: string,
    key: string,
    record: SessionRecord,
    now: number,
    agent: string | undefined,
  ): RequestSession {
    const session = new RequestSession(
      persistence,
      this.options,
      { id, key, record },
      undefined,
      now,
      this.csrf,
    );
    session.agentDigest = agent;
    return session;
  }

  /**
   * An old ID within its grace period: load the session it was renewed into
   * (one more read). Only one hop: a forward never points to another forward.
   */
  private async follow(
    verified: VerifiedId,
    movedTo: string,
    persistence: SessionPersistence,
    now: number,
    agent: string | undefined,
  ): Promise<RequestSession> {
    let key: unknown;
    try {
      key = JSON.parse(movedTo);
    } catch {
      key = undefined;
    }
    if (typeof key !== 'string') return this.fresh(persistence, 'no_session', now, agent);
    const record = await this.outage.run(() => this.store.get(key));
    if (
      !record ||
      record.revokedAt !== undefined ||
      record.data[MOVED_TO_KEY] !== undefined ||
      this.timedOut(record, now) ||
      (agent !== undefined && !this.agentMatches(record, agent))
    ) {
      return this.fresh(persistence, 'no_session', now, agent);
    }
    const session = this.live(persistence, verified.id, key, record, now, agent);
    session.forwarded = true;
    return session;
  }

  /** A session bound to a User-Agent is presented by another one: a stolen cookie, most likely. */
  private async revokeHijacked(
    persistence: SessionPersistence,
    key: string,
    record: SessionRecord,
    now: number,
    agent: string,
  ): Promise<RequestSession> {
    await this.outage.run(() => this.store.revoke(key, now, this.options.endedRetentionMs));
    const { handle, userId } = record;
    this.events.emit({ type: 'revoked', handle, userId, reason: 'hijack_suspected' });
    this.events.emit({ type: 'hijack_suspected', handle, userId, reason: 'user-agent' });
    return this.fresh(persistence, 'revoked', now, agent);
  }

  private agentMatches(record: SessionRecord, agent: string): boolean {
    const bound = record.data[BOUND_AGENT_KEY];
    // A session created before binding was switched on is bound at its next write.
    return bound === undefined || bound === JSON.stringify(agent);
  }

  /**
   * Whether `commit()` could do anything. Synchronous, so the platform
   * bindings send most responses (anonymous visits, read-only requests with
   * no touch due) without waiting for a promise.
   */
  needsCommit(session: RequestSession, now = Date.now()): boolean {
    if (session.persisted === null) return session.hasContent || session.staleCookie;
    if (session.pendingRotation !== undefined || session.resignCookie) return true;
    if (now - session.meta.lastSeenAt >= this.options.touchAfterMs) return true;
    if (this.renewalDue(session, now)) return true;
    return session.data.mayHaveChanged;
  }

  /** Periodic renewal is on and this session's ID is older than `rotation.every`. */
  private renewalDue(session: RequestSession, now: number): boolean {
    const rotation = this.options.rotation;
    if (!rotation || session.forwarded || session.persisted === null) return false;
    const rotatedAt = session.internalGet(ROTATED_AT_KEY);
    const since = typeof rotatedAt === 'number' ? rotatedAt : session.meta.createdAt;
    return now - since >= rotation.everyMs;
  }

  /**
   * Writes what the request changed and answers the Set-Cookie values to
   * send. Nothing changed and no touch due: no store call at all.
   */
  async commit(session: RequestSession): Promise<string[]> {
    const now = Date.now();
    if (session.persisted === null) {
      if (session.hasContent) return this.create(session, now);
      return this.takeStaleCookie(session);
    }
    if (!session.pendingRotation && this.renewalDue(session, now)) {
      session.pendingRotation = 'periodic';
    }
    if (session.pendingRotation) return this.rotate(session, now);

    const delta = session.data.delta();
    const touchDue = now - session.meta.lastSeenAt >= this.options.touchAfterMs;
    if (delta || touchDue) {
      // Any write records activity too: it is the same round trip.
      const patch = { ...delta, lastSeenAt: now };
      const key = session.key!;
      const stillThere = await this.outage.run(() =>
        this.store.update(key, patch, this.ttl(session.meta.createdAt, now)),
      );
      if (!stillThere) {
        // Destroyed or revoked by another request meanwhile: never bring it back.
        session.resetToFresh(now);
        return this.takeStaleCookie(session);
      }
      session.meta.lastSeenAt = now;
      session.data.markDeltaCommitted(delta);
    }
    if (session.resignCookie) {
      session.resignCookie = false;
      return [this.cookieFor(session.id!, session.meta.createdAt, now)];
    }
    return [];
  }

  /** Ends a session now (logout): deleted from the store, the request goes on without it. */
  async destroy(session: RequestSession): Promise<void> {
    const key = session.key;
    const { handle, userId } = session.meta;
    if (key !== undefined) {
      await this.outage.run(() => this.store.destroy(key));
      this.events.emit({ type: 'destroyed', handle, userId });
    }
    session.resetToFresh(Date.now());
  }

  /** Store TTL: until the session ends (idle or absolute, whichever first), plus the retention. */
  ttl(createdAt: number, lastSeenAt: number): number {
    const { idleTimeoutMs, absoluteTimeoutMs, endedRetentionMs } = this.options;
    const endsAt = Math.min(lastSeenAt + idleTimeoutMs, createdAt + absoluteTimeoutMs);
    return Math.max(1, endsAt - Date.now()) + endedRetentionMs;
  }

  /** The session of a request whose store lookup failed, under `storeOutage: 'anonymous'`. */
  anonymous(persistence: SessionPersistence): RequestSession {
    return new RequestSession(
      persistence,
      this.options,
      undefined,
      undefined,
      Date.now(),
      this.csrf,
    );
  }

  private fresh(
    persistence: SessionPersistence,
    reason: SessionEndReason | undefined,
    now: number,
    agent?: string,
  ): RequestSession {
    const session = new RequestSession(
      persistence,
      this.options,
      undefined,
      reason,
      now,
      this.csrf,
    );
    session.agentDigest = agent;
    // A cookie was sent but names no live session: it is cleared at commit unless replaced.
    session.staleCookie = reason !== undefined;
    return session;
  }

  private end(
    persistence: SessionPersistence,
    record: SessionRecord,
    reason: 'idle_timeout' | 'absolute_timeout',
    now: number,
    agent: string | undefined,
  ): RequestSession {
    this.events.emit({ type: 'expired', handle: record.handle, userId: record.userId, reason });
    // The record stays until its store TTL (a short retention past the end), so
    // that every request of the ended session is told why, not just the first.
    return this.fresh(persistence, reason, now, agent);
  }

  private async create(session: RequestSession, now: number): Promise<string[]> {
    const id = generateSessionId();
    const key = sessionStoreKey(id);
    const loggedIn = session.pendingRotation === 'login';
    Object.assign(session.meta, {
      handle: generateSessionHandle(),
      createdAt: now,
      lastSeenAt: now,
    });
    const record = this.toRecord(session);
    await this.outage.run(() => this.store.set(key, record, this.ttl(now, now)));
    this.committed(session, id, key, record);
    this.events.emit({ type: 'created', handle: record.handle, userId: record.userId });
    if (loggedIn)
      this.events.emit({ type: 'logged_in', handle: record.handle, userId: record.userId });
    return [this.cookieFor(id, now, now)];
  }

  private async rotate(session: RequestSession, now: number): Promise<string[]> {
    const reason = session.pendingRotation!;
    if (reason === 'login') {
      // A log-in starts a new session: new handle, and the absolute timeout counts from now.
      Object.assign(session.meta, { handle: generateSessionHandle(), createdAt: now });
    }
    session.meta.lastSeenAt = now;
    if (this.options.rotation) session.data.set(ROTATED_AT_KEY, now);
    const id = generateSessionId();
    const key = sessionStoreKey(id);
    const oldKey = session.key!;
    const record = this.toRecord(session);
    const ttl = this.ttl(record.createdAt, now);
    if (reason === 'periodic') {
      // Renewal with a grace period: the new session first, then the old key
      // becomes a short-lived pointer to it (not in the user's index).
      const forward: SessionRecord = {
        handle: record.handle,
        createdAt: record.createdAt,
        lastSeenAt: now,
        data: { [MOVED_TO_KEY]: JSON.stringify(key) },
      };
      await this.outage.run(async () => {
        await this.store.set(key, record, ttl);
        await this.store.set(oldKey, forward, this.options.rotation!.graceMs);
      });
    } else {
      await this.outage.run(() => this.store.rotate(oldKey, key, record, ttl));
    }
    this.committed(session, id, key, record);
    const { handle, userId } = record;
    this.events.emit({
      type: reason === 'login' ? 'logged_in' : 'rotated',
      handle,
      userId,
      reason,
    });
    return [this.cookieFor(id, record.createdAt, now)];
  }

  private committed(session: RequestSession, id: string, key: string, record: SessionRecord): void {
    session.id = id;
    session.key = key;
    session.persisted = record;
    session.pendingRotation = undefined;
    session.staleCookie = false;
    session.resignCookie = false;
    session.data.markCommitted();
  }

  private toRecord(session: RequestSession): SessionRecord {
    if (session.agentDigest !== undefined && session.internalGet(BOUND_AGENT_KEY) === undefined) {
      session.data.set(BOUND_AGENT_KEY, session.agentDigest);
    }
    const { handle, userId, roles, createdAt, lastSeenAt, authenticatedAt } = session.meta;
    const record: SessionRecord = {
      handle: handle!,
      createdAt,
      lastSeenAt,
      data: session.data.snapshot(),
    };
    if (userId !== undefined) record.userId = userId;
    if (roles.length > 0) record.roles = [...roles];
    if (authenticatedAt !== undefined) record.authenticatedAt = authenticatedAt;
    return record;
  }

  private cookieFor(id: string, createdAt: number, now: number): string {
    // The cookie lives as long as the session could: until the absolute timeout.
    return this.codec.serialize(
      this.signer.sign(id),
      createdAt + this.options.absoluteTimeoutMs - now,
    );
  }

  private takeStaleCookie(session: RequestSession): string[] {
    if (!session.staleCookie) return [];
    session.staleCookie = false;
    return [this.codec.clear()];
  }
}
