import type { SessionCookieCodec } from '../cookie/cookie.codec.js';
import type { CookieSigner } from '../cookie/cookie.signer.js';
import { reportCapped } from '../events/report-capped.js';
import type { SessionEvents } from '../events/session-events.js';
import { isLiveRecord } from '../stores/session-record.js';
import type { RotateOptions, SessionStore } from '../stores/session-store.interface.js';
import { SessionStoreUnavailableError, type StoreOutageMonitor } from '../stores/store-outage.js';
import {
  planCommit,
  type CommitPlan,
  type RotationKind,
  type RouteOutcome,
} from './commit-plan.js';
import { CommitRefusal } from './commit-refusal.js';
import { ROTATED_AT_KEY } from './internal-keys.js';
import { sameRoles, type RequestSession } from './request-session.js';
import { generateSessionHandle, generateSessionId, sessionStoreKey } from './session-id.js';
import type { SessionTiming } from './session-timing.js';

/**
 * How long a rotation's forward stays followable (ms): requests that loaded
 * the old session before it moved (a handler still awaiting I/O) send their
 * writes, logouts and revocations through it to the session it became.
 */
const FORWARD_MS = 60_000;

/** What the committer is built from. */
export interface SessionCommitterDeps {
  store: SessionStore;
  outage: StoreOutageMonitor;
  events: SessionEvents;
  timing: SessionTiming;
  codec: SessionCookieCodec;
  signer: CookieSigner;
}

/**
 * What a request did to its session → one store operation and the cookies
 * to send. `plan()` is the one decision of what must happen (see
 * commit-plan.ts); `commit()` carries a plan out; `destroy()` is the logout,
 * done at once when the app asks.
 */
export class SessionCommitter {
  constructor(private readonly deps: SessionCommitterDeps) {}

  plan(session: RequestSession, route: RouteOutcome, now = Date.now()): CommitPlan {
    return planCommit(session, route, this.deps.timing, now);
  }

  /** Carries out `plan`; answers the Set-Cookie values to send. */
  async commit(session: RequestSession, plan: CommitPlan, now = Date.now()): Promise<string[]> {
    switch (plan.store) {
      case 'create':
        // The store failed to load this request's session (storeOutage
        // 'anonymous'): a new session would replace the user's cookie.
        if (session.degraded) throw new SessionStoreUnavailableError('session not loaded');
        return this.create(session, now);
      case 'rotate':
        return this.rotate(session, plan.rotation!, now);
      case 'delta':
      case 'touch':
        if (!(await this.writeActivity(session, plan.store === 'delta', now))) {
          // Destroyed or revoked by another request meanwhile: never bring it back.
          session.ended(now, true);
          return this.cookies(session, 'clear');
        }
        return this.cookies(session, plan.cookie);
      case 'nothing':
        return this.cookies(session, plan.cookie);
    }
  }

  /**
   * Ends a session now (logout): deleted from the store with whatever it was
   * rotated into meanwhile; the request goes on without one.
   */
  async destroy(session: RequestSession): Promise<void> {
    const key = session.keyToDestroy;
    const { handle, userId, origin } = session;
    if (key !== undefined) {
      await this.deps.outage.run(() => this.deps.store.destroy(key), 'destroy', 'cookie', origin);
      this.deps.events.emit(
        {
          type: 'destroyed',
          kind: 'cookie',
          handle,
          userId,
          reason: 'logout',
          createdAt: session.createdAt.getTime(),
        },
        origin,
      );
    }
    session.ended(Date.now(), true);
  }

  private async create(session: RequestSession, now: number): Promise<string[]> {
    const loggedIn = session.requestedRotation === 'login';
    const id = generateSessionId();
    const key = sessionStoreKey(id);
    session.beginsNewRecord(generateSessionHandle(), now);
    const record = session.toRecord();
    const ttl = this.deps.timing.storeTtl(now, now, now);
    const origin = session.origin;
    const written = await this.deps.outage.run(
      () => this.deps.store.set(key, record, ttl),
      'set',
      'cookie',
      origin,
    );
    session.committedAs(id, key, record);
    const { handle, userId } = record;
    this.deps.events.emit(
      loggedIn
        ? { type: 'created', kind: 'cookie', handle, userId, reason: 'login' }
        : { type: 'created', kind: 'cookie', handle, userId },
      origin,
    );
    reportCapped(this.deps.events, written?.capped, userId, origin);
    return [this.cookieFor(id, now, now)];
  }

  /**
   * Every ID change is one conditional store operation: a log-in starts a
   * new session whatever the old one became; any other rotation moves the
   * session only if it is still live (a logout, revocation or expiry that
   * came first wins), and of parallel rotations of one session exactly one
   * wins, the others following its forward.
   */
  private async rotate(
    session: RequestSession,
    kind: RotationKind,
    now: number,
  ): Promise<string[]> {
    const { store, outage, timing, events } = this.deps;
    const loaded = session.inStore!;
    const previousSeenAt = session.lastSeenAtMs;
    if (kind === 'login') session.beginsNewRecord(generateSessionHandle(), now);
    else session.seenAt(now);
    if (timing.renews) session.data.set(ROTATED_AT_KEY, now);
    const id = generateSessionId();
    const key = sessionStoreKey(id);
    const record = session.toRecord();
    const ttl = timing.storeTtl(record.createdAt, now, now);
    const options = this.rotateOptions(kind, loaded.record.handle, now);
    const origin = session.origin;
    const outcome = await outage.run(
      () => store.rotate(loaded.key, key, record, ttl, options),
      'rotate',
      'cookie',
      origin,
    );
    if (outcome.status === 'moved') {
      session.seenAt(previousSeenAt);
      return this.followWinner(session, kind, outcome.to, now);
    }
    if (outcome.status === 'gone') throw this.ended(session, now);
    session.committedAs(id, key, record);
    const { handle, userId } = record;
    // Only the winner of parallel rotations reports one (the others followed it above).
    events.emit({ type: 'rotated', kind: 'cookie', handle, userId, reason: kind }, origin);
    reportCapped(events, outcome.capped, userId, origin);
    return [this.cookieFor(id, record.createdAt, now)];
  }

  private rotateOptions(kind: RotationKind, loadedHandle: string, now: number): RotateOptions {
    if (kind === 'login') return { forwardMs: 0 };
    const grace = kind === 'renewal' ? this.deps.timing.renewalGraceMs : 0;
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
   * ID forwards for a while). A privilege change or re-authentication
   * follows only if the winner ended with the same privileges and a log-in
   * time no older; anything else is refused (409), since granting it on top
   * of the winner's ID is what neither request asked for.
   */
  private async followWinner(
    session: RequestSession,
    kind: RotationKind,
    to: string,
    now: number,
  ): Promise<string[]> {
    const { store, outage } = this.deps;
    if (kind === 'privilege' || kind === 'reauth') {
      const winner = await outage.run(() => store.get(to), 'get', 'cookie', session.origin);
      if (!winner || !isLiveRecord(winner)) throw this.ended(session, now);
      const same =
        winner.userId === session.userId &&
        sameRoles(winner.roles ?? [], session.roles) &&
        (session.authenticatedAtMs ?? 0) <= (winner.authenticatedAt ?? 0);
      if (!same) throw CommitRefusal.conflict();
    }
    session.followedTo(to);
    if (!(await this.writeActivity(session, true, now))) throw this.ended(session, now);
    return [];
  }

  /** A delta (the keys that changed, if any) and the activity, in one update. */
  private async writeActivity(
    session: RequestSession,
    withDelta: boolean,
    now: number,
  ): Promise<boolean> {
    const delta = withDelta ? session.data.delta() : undefined;
    if (!delta && !this.deps.timing.touchDue(session.lastSeenAtMs, now)) return true;
    // Any write records activity too: it is the same round trip.
    const patch = { ...delta, lastSeenAt: now };
    const key = session.inStore!.key;
    const ttl = this.deps.timing.storeTtl(session.createdAtMs, now, now);
    const stillThere = await this.deps.outage.run(
      () => this.deps.store.update(key, patch, ttl),
      'update',
      'cookie',
      session.origin,
    );
    if (stillThere) session.activityCommitted(now, delta);
    return stillThere;
  }

  /** The session ended (logout, revocation, expiry) while this request was changing it. */
  private ended(session: RequestSession, now: number): CommitRefusal {
    session.ended(now, false);
    return CommitRefusal.sessionEnded(this.deps.codec.clear());
  }

  private cookies(session: RequestSession, step: CommitPlan['cookie']): string[] {
    if (step === 're-sign' && session.inStore) {
      session.cookieResigned();
      return [this.cookieFor(session.inStore.id, session.createdAtMs, Date.now())];
    }
    if (step === 'clear' && session.cookieIsStale) {
      session.staleCookieCleared();
      return [this.deps.codec.clear()];
    }
    return [];
  }

  private cookieFor(id: string, createdAt: number, now: number): string {
    return this.deps.codec.serialize(
      this.deps.signer.sign(id),
      this.deps.timing.cookieMaxAge(createdAt, now),
    );
  }
}
