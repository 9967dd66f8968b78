import { createHash } from 'node:crypto';
import type { SessionCookieCodec } from '../cookie/cookie.codec.js';
import type { CookieSigner, VerifiedId } from '../cookie/cookie.signer.js';
import type { EventOrigin } from '../events/event-origin.js';
import type { SessionEvents } from '../events/session-events.js';
import { isLiveRecord, type SessionRecord } from '../stores/session-record.js';
import type { SessionStore } from '../stores/session-store.interface.js';
import type { StoreOutageMonitor } from '../stores/store-outage.js';
import type { FailureLimiter } from './failure-limiter.js';
import { BOUND_AGENT_KEY } from './internal-keys.js';
import {
  RequestSession,
  type NoSession,
  type SessionRequestHooks,
  type SessionSettings,
} from './request-session.js';
import type { SessionTiming } from './session-timing.js';
import type { SessionEndReason } from './session.interface.js';

/** Duplicate session cookies: at most this many well-signed values are looked up. */
const MAX_CANDIDATES = 3;

/** What the loader needs of one request (it is the origin of the events the load causes). */
export interface LoadRequest extends EventOrigin {
  cookieHeader: unknown;
  userAgent: unknown;
  /** The client's address (only computed when the guessing defence or a listener needs it). */
  clientAddress: () => string;
  /** The request the session belongs to (see {@link SessionRequestHooks}). */
  hooks: SessionRequestHooks;
}

/** What the loader is built from. */
export interface SessionLoaderDeps {
  codec: SessionCookieCodec;
  signer: CookieSigner;
  store: SessionStore;
  outage: StoreOutageMonitor;
  events: SessionEvents;
  timing: SessionTiming;
  settings: SessionSettings;
  bindToUserAgent: boolean;
  limiter: FailureLimiter | undefined;
  endedRetentionMs: number;
  /** The module's ExpirySweeper reports ended sessions: a request that meets one must not report it again. */
  expirySwept: boolean;
}

/** One request's load in progress: its inputs and what it learned on the way. */
interface Lookup {
  request: LoadRequest;
  now: number;
  agent: string | undefined;
  /** The key of a forward that no longer loads (see `NoSession.movedFromKey`). */
  movedFrom?: string;
}

/**
 * Cookie header → verified ID → record → the request's session: live, reached
 * through a renewal forward, ended (timeout, revocation, hijack) or fresh.
 * Never adopts a client's ID: anything but a live session of ours is a fresh,
 * empty session, and a request without a session cookie costs no store call.
 */
export class SessionLoader {
  constructor(private readonly deps: SessionLoaderDeps) {}

  load(request: LoadRequest): RequestSession | Promise<RequestSession> {
    const { codec, signer, limiter, bindToUserAgent } = this.deps;
    const now = Date.now();
    const agent = bindToUserAgent ? agentDigest(request.userAgent) : undefined;
    const values = codec.readAll(request.cookieHeader);
    // Synchronous answers for the common cases: most visitors have no cookie.
    if (values.length === 0) return this.fresh(request, now, { agentDigest: agent });
    // With several session cookies (one may be planted by a sibling domain),
    // the first that verifies and is live wins; and clearing would delete the
    // genuine cookie while the planted one stays, so only a lone one is cleared.
    const cookieIsStale = values.length === 1;
    const verified: VerifiedId[] = [];
    for (const raw of values) {
      const id = signer.verify(raw);
      if (id && verified.length < MAX_CANDIDATES) verified.push(id);
    }
    if (verified.length === 0) {
      this.deps.events.emit({ type: 'rejected', kind: 'cookie', reason: 'bad_signature' }, request);
      const none: NoSession = { endReason: 'no_session', cookieIsStale, agentDigest: agent };
      if (!limiter) return this.fresh(request, now, none);
      return limiter
        .fail(request)
        .then((guessingRetryAfter) => this.fresh(request, now, { ...none, guessingRetryAfter }));
    }
    return this.lookup(verified, { request, now, agent }, cookieIsStale);
  }

  /** The session of a request whose store lookup failed, under `storeOutage: 'anonymous'`. */
  degraded(hooks: SessionRequestHooks): RequestSession {
    return RequestSession.fresh(hooks, this.deps.settings, { degraded: true }, Date.now());
  }

  /** The first candidate that names a live session; else a fresh session told why the first did not. */
  private async lookup(
    candidates: VerifiedId[],
    lookup: Lookup,
    cookieIsStale: boolean,
  ): Promise<RequestSession> {
    let endReason: SessionEndReason | undefined;
    for (const verified of candidates) {
      const found = await this.resolve(verified, lookup);
      if (found instanceof RequestSession) return found;
      endReason ??= found;
    }
    // Revoked and timed-out sessions were reported when they ended (or just now, in `resolve`).
    if (endReason === 'no_session') {
      this.deps.events.emit(
        { type: 'rejected', kind: 'cookie', reason: 'unknown' },
        lookup.request,
      );
    }
    return this.fresh(lookup.request, lookup.now, {
      endReason,
      cookieIsStale,
      agentDigest: lookup.agent,
      movedFromKey: lookup.movedFrom,
    });
  }

  /** One well-signed ID: its live session, or why it has none (ending it where it must). */
  private async resolve(
    verified: VerifiedId,
    lookup: Lookup,
  ): Promise<RequestSession | SessionEndReason> {
    const key = verified.key;
    const record = await this.read(key, lookup.request);
    // A well-signed ID the store never heard of (or forgot): not a guess (see FailureLimiter).
    if (!record) return 'no_session';
    if (record.revokedAt !== undefined) return 'revoked';
    if (record.movedTo !== undefined) {
      const followed = await this.follow(verified, record, lookup);
      // An ID rotated away moments ago (its new cookie still on its way to
      // the client): it loads nothing, but a logout with it ends the session.
      if (!(followed instanceof RequestSession)) lookup.movedFrom ??= key;
      return followed;
    }
    const ended = this.deps.timing.timedOut(record, lookup.now);
    if (ended) {
      if (!this.deps.expirySwept)
        this.deps.events.emit(
          {
            type: 'expired',
            kind: 'cookie',
            handle: record.handle,
            userId: record.userId,
            reason: ended === 'idle_timeout' ? 'idle' : 'absolute',
            createdAt: record.createdAt,
          },
          lookup.request,
        );
      // The record stays until its store TTL (a short retention past the end),
      // so every request of the ended session is told why, not just the first.
      return ended;
    }
    if (lookup.agent !== undefined && !agentMatches(record, lookup.agent)) {
      return this.revokeHijacked(key, record, lookup);
    }
    return this.live(verified, key, record, lookup, false);
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
    lookup: Lookup,
  ): Promise<RequestSession | SessionEndReason> {
    const { readableUntil, movedTo } = forward;
    if (readableUntil === undefined || lookup.now >= readableUntil) return 'no_session';
    const key = movedTo!;
    const record = await this.read(key, lookup.request);
    if (!record || !isLiveRecord(record) || this.deps.timing.timedOut(record, lookup.now)) {
      return 'no_session';
    }
    // The old ID from another User-Agent: as stolen as the new one would be.
    if (lookup.agent !== undefined && !agentMatches(record, lookup.agent)) {
      return this.revokeHijacked(key, record, lookup);
    }
    return this.live(verified, key, record, lookup, true);
  }

  /** A session bound to a User-Agent is presented by another one: a stolen cookie, most likely. */
  private async revokeHijacked(
    key: string,
    record: SessionRecord,
    { now, request }: Lookup,
  ): Promise<SessionEndReason> {
    const { store, outage, events, endedRetentionMs } = this.deps;
    const { handle, userId } = record;
    events.emit({ type: 'rejected', kind: 'cookie', handle, userId, reason: 'binding' }, request);
    await outage.run(() => store.revoke(key, now, endedRetentionMs), 'revoke', 'cookie', request);
    events.emit(
      {
        type: 'destroyed',
        kind: 'cookie',
        handle,
        userId,
        reason: 'revoked',
        createdAt: record.createdAt,
      },
      request,
    );
    return 'revoked';
  }

  private live(
    verified: VerifiedId,
    key: string,
    record: SessionRecord,
    lookup: Lookup,
    forwarded: boolean,
  ): RequestSession {
    return RequestSession.live(
      lookup.request.hooks,
      this.deps.settings,
      {
        id: verified.id,
        key,
        record,
        forwarded,
        // Through a forward the cookie is left alone (it is not re-signed either).
        signedWithRetiredSecret: !forwarded && verified.signedWithRetiredSecret,
        agentDigest: lookup.agent,
      },
      lookup.now,
    );
  }

  private fresh(request: LoadRequest, now: number, why: NoSession): RequestSession {
    return RequestSession.fresh(request.hooks, this.deps.settings, why, now);
  }

  private read(key: string, request: LoadRequest): Promise<SessionRecord | null> {
    return this.deps.outage.run(() => this.deps.store.get(key), 'get', 'cookie', request);
  }
}

/** Sessions are bound to a digest of the User-Agent, not the string itself. */
function agentDigest(userAgent: unknown): string {
  const text = typeof userAgent === 'string' ? userAgent : '';
  return createHash('sha256').update(text).digest('base64url').slice(0, 22);
}

function agentMatches(record: SessionRecord, agent: string): boolean {
  const bound = record.data[BOUND_AGENT_KEY];
  // A session created before binding was switched on is bound at its next write.
  return bound === undefined || bound === JSON.stringify(agent);
}
