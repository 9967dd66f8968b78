import { createHash } from 'node:crypto';
import { SessionCookieCodec } from '../cookie/cookie.codec.js';
import { CookieSigner, type VerifiedId } from '../cookie/cookie.signer.js';
import type { SessionEvents } from '../events/session-events.js';
import type { ResolvedSessionOptions } from '../session.options.js';
import { isLiveRecord, type SessionRecord } from '../stores/session-record.js';
import type { RotateOptions, SessionStore } from '../stores/session-store.interface.js';
import { SessionStoreUnavailableError, StoreOutageMonitor } from '../stores/store-outage.js';
import { RequestSession, type SessionPersistence } from './request-session.js';
import { generateSessionHandle, generateSessionId, sessionStoreKey } from './session-id.js';
import { FailureLimiter } from './failure-limiter.js';
import { BOUND_AGENT_KEY, ROTATED_AT_KEY } from './internal-keys.js';
import type { SessionEndReason } from './session.interface.js';
import { CsrfTokens } from '../csrf/csrf-tokens.js';
import { CommitRefusal } from './commit-refusal.js';

/**
 * How long a rotation's forward stays followable (ms): requests that loaded
 * the old session before it moved (a handler still awaiting I/O) send their
 * writes, logouts and revocations through it to the session it became.
 */
const FORWARD_MS = 60_000;
/** Duplicate session cookies: at most this many well-signed values are looked up. */
const MAX_CANDIDATES = 3;

/** What a lookup that found no live session learned on the way. */
interface DeadEnds {
  /** The key of a forward that no longer loads (see `RequestSession.movedFromKey`). */
  movedFrom?: string;
}

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
    const values = this.codec.readAll(cookieHeader);
    // Synchronous answers for the common cases: most visitors have no cookie.
    if (values.length === 0) return this.fresh(persistence, undefined, now, agent);
    // With several session cookies (one may be planted by a sibling domain),
    // the first that verifies and is live wins; and clearing would delete the
    // genuine cookie while the planted one stays, so only a lone one is cleared.
    const clearable = values.length === 1;
    const verified: VerifiedId[] = [];
    for (const raw of values) {
      const id = this.signer.verify(raw);
      if (id && verified.length < MAX_CANDIDATES) verified.push(id);
    }
    if (verified.length === 0) {
      const fresh = this.fresh(persistence, 'no_session', now, agent, clearable);
      if (!this.limiter || !client) return fresh;
      return this.limiter.fail(client()).then((retryAfter) => {
        fresh.guessingRetryAfter = retryAfter;
        return fresh;
      });
    }
    return this.lookup(verified, persistence, now, agent, clearable);
  }

  /** The first candidate that names a live session; else a fresh session told why the first did not. */
  private async lookup(
    candidates: VerifiedId[],
    persistence: SessionPersistence,
    now: number,
    agent: string | undefined,
    clearable: boolean,
  ): Promise<RequestSession> {
    let firstReason: SessionEndReason | undefined;
    const dead: DeadEnds = {};
    for (const verified of candidates) {
      const found = await this.resolve(verified, persistence, now, agent, dead);
      if (found instanceof RequestSession) return found;
      firstReason ??= found;
    }
    const fresh = this.fresh(persistence, firstReason ?? 'no_session', now, agent, clearable);
    fresh.movedFromKey = dead.movedFrom;
    return fresh;
  }

  /** One well-signed ID: its live session, or why it has none (ending it where it must). */
  private async resolve(
    verified: VerifiedId,
    persistence: SessionPersistence,
    now: number,
    agent: string | undefined,
    dead: DeadEnds,
  ): Promise<RequestSession | SessionEndReason> {
    const key = verified.key;
    const record = await this.outage.run(() => this.store.get(key));
    // A well-signed ID the store never heard of (or forgot): not a guess (see FailureLimiter).
    if (!record) return 'no_session';
    if (record.revokedAt !== undefined) return 'revoked';
    if (record.movedTo !== undefined) {
      const followed = await this.follow(verified, record, persistence, now, agent);
      // An ID rotated away moments ago (its new cookie still on its way to
      // the client): it loads nothing, but a logout with it ends the session.
      if (!(followed instanceof RequestSession)) dead.movedFrom ??= key;
      return followed;
    }
    const ended = this.timedOut(record, now);
    if (ended) return this.end(record, ended);
    if (agent !== undefined && !this.agentMatches(record, agent)) {
      return this.revokeHijacked(key, record, now);
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
   * An old ID: within its renewal grace it loads the session it was renewed
   * into (one more read; only one hop, so a forward to a forward, left by a
   * later privilege rotation, is dead). Past the grace, or after a privilege
   * rotation, the old ID is dead at once.
   */
  private async follow(
    verified: VerifiedId,
    forward: SessionRecord,
    persistence: SessionPersistence,
    now: number,
    agent: string | undefined,
  ): Promise<RequestSession | SessionEndReason> {
    if (forward.readableUntil === undefined || now >= forward.readableUntil) return 'no_session';
    const key = forward.movedTo!;
    const record = await this.outage.run(() => this.store.get(key));
    if (!record || !isLiveRecord(record) || this.timedOut(record, now)) return 'no_session';
    // The old ID from another User-Agent: as stolen as the new one would be.
    if (agent !== undefined && !this.agentMatches(record, agent)) {
      return this.revokeHijacked(key, record, now);
    }
    const session = this.live(persistence, verified.id, key, record, now, agent);
    session.forwarded = true;
    return session;
  }

  /** A session bound to a User-Agent is presented by another one: a stolen cookie, most likely. */
  private async revokeHijacked(
    key: string,
    record: SessionRecord,
    now: number,
  ): Promise<SessionEndReason> {
    await this.outage.run(() => this.store.revoke(key, now, this.options.endedRetentionMs));
    const { handle, userId } = record;
    this.events.emit({ type: 'revoked', handle, userId, reason: 'hijack_suspected' });
    this.events.emit({ type: 'hijack_suspected', handle, userId, reason: 'user-agent' });
    return 'revoked';
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
      if (!session.hasContent) return this.takeStaleCookie(session);
      // The store failed to load this request's session (storeOutage
      // 'anonymous'): a new session would replace the user's cookie.
      if (session.degraded) throw new SessionStoreUnavailableError('session not loaded');
      return this.create(session, now);
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

  /**
   * Ends a session now (logout): deleted from the store (with whatever it
   * was rotated into meanwhile), the request goes on without it.
   */
  async destroy(session: RequestSession): Promise<void> {
    const key = session.key ?? session.movedFromKey;
    session.movedFromKey = undefined;
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

  /**
   * The session of a request whose store lookup failed, under `storeOutage:
   * 'anonymous'`: it reads as no session, and writing to it answers 503
   * rather than minting a cookie over the user's real one.
   */
  anonymous(persistence: SessionPersistence): RequestSession {
    const session = new RequestSession(
      persistence,
      this.options,
      undefined,
      undefined,
      Date.now(),
      this.csrf,
    );
    session.degraded = true;
    return session;
  }

  private fresh(
    persistence: SessionPersistence,
    reason: SessionEndReason | undefined,
    now: number,
    agent?: string,
    clearable = true,
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
    session.staleCookie = reason !== undefined && clearable;
    return session;
  }

  private end(
    record: SessionRecord,
    reason: 'idle_timeout' | 'absolute_timeout',
  ): SessionEndReason {
    this.events.emit({ type: 'expired', handle: record.handle, userId: record.userId, reason });
    // The record stays until its store TTL (a short retention past the end), so
    // that every request of the ended session is told why, not just the first.
    return reason;
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

  /**
   * Every ID change is one conditional store operation: a log-in starts a
   * new session whatever the old one became; any other rotation moves the
   * session only if it is still live (a logout, revocation or expiry that
   * came first wins), and of parallel rotations of one session exactly one
   * wins, the others following its forward.
   */
  private async rotate(session: RequestSession, now: number): Promise<string[]> {
    const reason = session.pendingRotation!;
    const loadedHandle = session.persisted!.handle;
    if (reason === 'login') {
      // A log-in starts a new session: new handle, and the absolute timeout counts from now.
      Object.assign(session.meta, { handle: generateSessionHandle(), createdAt: now });
    }
    const previousSeenAt = session.meta.lastSeenAt;
    session.meta.lastSeenAt = now;
    if (this.options.rotation) session.data.set(ROTATED_AT_KEY, now);
    const id = generateSessionId();
    const key = sessionStoreKey(id);
    const oldKey = session.key!;
    const record = this.toRecord(session);
    const ttl = this.ttl(record.createdAt, now);
    const outcome = await this.outage.run(() =>
      this.store.rotate(oldKey, key, record, ttl, this.rotateOptions(reason, loadedHandle, now)),
    );
    if (outcome.status === 'moved') {
      session.meta.lastSeenAt = previousSeenAt;
      return this.followWinner(session, outcome.to, now);
    }
    if (outcome.status === 'gone') throw this.ended(session, now);
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

  private rotateOptions(
    reason: NonNullable<RequestSession['pendingRotation']>,
    loadedHandle: string,
    now: number,
  ): RotateOptions {
    if (reason === 'login') return { forwardMs: 0 };
    const grace = reason === 'periodic' ? this.options.rotation!.graceMs : 0;
    return {
      expectHandle: loadedHandle,
      forwardMs: Math.max(grace, FORWARD_MS),
      readableUntil: grace > 0 ? now + grace : undefined,
    };
  }

  /**
   * Another request rotated this session first. A renewal or regenerate just
   * follows: its writes go to the winner's session and its response keeps
   * the old cookie (the winner's response carries the new one, and the old
   * ID forwards for a while). A privilege change follows only if the winner
   * ended with the same privileges; anything else is refused (409), since
   * granting it on top of the winner's ID is what neither request asked for.
   */
  private async followWinner(session: RequestSession, to: string, now: number): Promise<string[]> {
    const reason = session.pendingRotation!;
    if (reason === 'privilege' || reason === 'login') {
      const winner = await this.outage.run(() => this.store.get(to));
      if (!winner || !isLiveRecord(winner)) throw this.ended(session, now);
      const meta = session.meta;
      const same =
        winner.userId === meta.userId &&
        sameRoles(winner.roles ?? [], meta.roles) &&
        (meta.authenticatedAt ?? 0) <= (winner.authenticatedAt ?? 0);
      if (!same) throw CommitRefusal.conflict();
    }
    session.pendingRotation = undefined;
    session.key = to;
    session.forwarded = true;
    const delta = session.data.delta();
    const patch = { ...delta, lastSeenAt: now };
    const ttl = this.ttl(session.meta.createdAt, now);
    const stillThere = await this.outage.run(() => this.store.update(to, patch, ttl));
    if (!stillThere) throw this.ended(session, now);
    session.meta.lastSeenAt = now;
    session.data.markDeltaCommitted(delta);
    return [];
  }

  /** The session ended (logout, revocation, expiry) while this request was changing it. */
  private ended(session: RequestSession, now: number): CommitRefusal {
    session.resetToFresh(now);
    session.staleCookie = false;
    return CommitRefusal.sessionEnded(this.codec.clear());
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

function sameRoles(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((role, i) => role === b[i]);
}
