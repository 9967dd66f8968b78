import type { SessionRotationCause } from '../events/session-event.js';
import type { SessionTiming } from './session-timing.js';

/**
 * Why a session gets a new ID at commit: `login` (also starts a new session
 * record), `privilege` (`setRoles()`), `route` (`regenerate()`,
 * `@RotateSession()`), `reauth` (`reauthenticate()`), `renewal` (periodic).
 * The same names as the `rotated` event's causes, which report them.
 */
export type RotationKind = SessionRotationCause;

/**
 * What the commit does in the store: nothing; `touch` (record activity
 * only); `delta` (write the keys that changed, and the activity with them);
 * `create` (a new session); `rotate` (a new ID, see {@link RotationKind}).
 * A logout is not planned: `session.destroy()` ends the session at once.
 */
export type StoreStep = 'nothing' | 'touch' | 'delta' | 'create' | 'rotate';

/**
 * What the commit does to the cookie: `keep` it, `set` a new one, `re-sign`
 * the same ID with the current secret, or `clear` a cookie that names no
 * live session.
 */
export type CookieStep = 'keep' | 'set' | 're-sign' | 'clear';

/** The one decision of what a response's commit must do. */
export interface CommitPlan {
  store: StoreStep;
  /** Set when `store` is `'rotate'`. */
  rotation?: RotationKind;
  cookie: CookieStep;
}

/** What the planner reads of a request's session (see `RequestSession`). */
export interface CommitFacts {
  /** The session exists in the store (it was loaded, or committed by this request). */
  readonly isStored: boolean;
  /** A new session would have something to write (data, or a log-in). */
  readonly hasContent: boolean;
  /** The rotation the app asked for (`logIn()`, `setRoles()`, `regenerate()`...). */
  readonly requestedRotation: RotationKind | undefined;
  /** The app read or wrote keys: a delta must be computed. */
  readonly mayHaveChanged: boolean;
  /** Recorded activity and last rotation (or creation), epoch ms. */
  readonly lastSeenAtMs: number;
  readonly rotatedAtMs: number;
  /** Loaded through a renewal forward: never renewed again from here. */
  readonly forwarded: boolean;
  /** The request's cookie names no live session (cleared unless replaced). */
  readonly cookieIsStale: boolean;
  /** The cookie was signed with a retired secret. */
  readonly signedWithRetiredSecret: boolean;
}

/** What the route and the response add: `@RotateSession()` and the status being sent. */
export interface RouteOutcome {
  rotateOnSuccess: boolean;
  status: number;
}

const NOTHING: CommitPlan = { store: 'nothing', cookie: 'keep' };

/**
 * The commit plan for a session, a route and a response status: the only
 * place that decides it. The platform bindings ask it synchronously whether
 * a response may leave without waiting for a commit (`store` is `nothing`
 * and `cookie` is `keep`), and the committer carries it out.
 */
export function planCommit(
  facts: CommitFacts,
  route: RouteOutcome,
  timing: SessionTiming,
  now: number,
): CommitPlan {
  if (!facts.isStored) {
    if (facts.hasContent) {
      return { store: 'create', rotation: facts.requestedRotation, cookie: 'set' };
    }
    return facts.cookieIsStale ? { store: 'nothing', cookie: 'clear' } : NOTHING;
  }
  const rotation =
    facts.requestedRotation ??
    (route.rotateOnSuccess && route.status < 400 ? 'route' : undefined) ??
    (!facts.forwarded && timing.renewalDue(facts.rotatedAtMs, now) ? 'renewal' : undefined);
  if (rotation) return { store: 'rotate', rotation, cookie: 'set' };
  const cookie: CookieStep = facts.signedWithRetiredSecret ? 're-sign' : 'keep';
  if (facts.mayHaveChanged) return { store: 'delta', cookie };
  if (timing.touchDue(facts.lastSeenAtMs, now)) return { store: 'touch', cookie };
  return cookie === 'keep' ? NOTHING : { store: 'nothing', cookie };
}

/** Whether a plan needs no commit at all (the response may leave at once). */
export function isEmptyPlan(plan: CommitPlan): boolean {
  return plan.store === 'nothing' && plan.cookie === 'keep';
}
