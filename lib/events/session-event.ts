/** What every event carries. */
interface SessionEventBase {
  /** Epoch ms. */
  at: number;
  /** The session's public `handle` (as `listForUser()` shows it), never its ID. */
  handle?: string;
  /** The session's user, once logged in. */
  userId?: string;
  /** `'cookie'`: a cookie session; `'token'`: a refresh-token family (`handle` is the family). */
  kind: 'cookie' | 'token';
  /**
   * The client's address, when a request caused the event: the address the
   * module computes for the guessing defence (the TCP peer, or the
   * X-Forwarded-For entry `bruteForce.trustProxy` hops from the right).
   */
  ip?: string;
  /** The request's User-Agent, when a request caused the event (cut to 256 characters). */
  userAgent?: string;
}

/** A token family's events are of kind `'token'`. */
type TokenEventBase = SessionEventBase & { kind: 'token' };

/**
 * Why a session got a new ID: `login` (`logIn()` replaced a session),
 * `privilege` (`setRoles()`), `route` (`@RotateSession()` or `regenerate()`),
 * `reauth` (`reauthenticate()`), `renewal` (periodic, `rotation.every`).
 */
export type SessionRotationCause = 'login' | 'privilege' | 'route' | 'reauth' | 'renewal';

/**
 * Why a session ended before its time: `logout` (`destroy()`,
 * `TokenService.logOut()`), `revoked` (`SessionService.revoke()`,
 * `revokeAllForUser()`, or a stolen cookie under `bindTo`), `limit` (the
 * store's per-user cap revoked it when the user logged in once more; the
 * event carries that log-in's request metadata), `reuse` (a refresh family
 * revoked because a rotated refresh token came back).
 */
export type SessionDestroyedReason = 'logout' | 'revoked' | 'limit' | 'reuse';

/** Which timeout ended a session. */
export type SessionExpiredReason = 'idle' | 'absolute';

/**
 * Why a request's session cookie was refused: `bad_signature` (it does not
 * verify, or is malformed), `unknown` (it verifies but names no live session:
 * the store forgot it, or it was rotated away; revoked and expired sessions
 * have their own events), `binding` (presented by another User-Agent than the
 * one it is bound to; the session is revoked too), `csrf` (`CsrfGuard` or
 * `SameOriginGuard` refused the request), `brute_force` (the client went past
 * `bruteForce.maxFailures`; once per client and window).
 */
export type SessionRejectedReason =
  'bad_signature' | 'unknown' | 'binding' | 'csrf' | 'brute_force';

/**
 * A lifecycle event, as emitted on `SessionService.events$`: one member per
 * `type`, each with the `reason`s it can carry (`event.type === 'expired'`
 * narrows `reason` to {@link SessionExpiredReason}). It names the session by
 * its public `handle`, never its ID.
 */
export type SessionEvent =
  /** A session was written to the store for the first time; `reason: 'login'` when a log-in created it. */
  | (SessionEventBase & { type: 'created'; reason?: 'login' })
  /** The session got a new ID (after `login`, also a new handle: the log-in's session). */
  | (SessionEventBase & { type: 'rotated'; reason: SessionRotationCause })
  /**
   * The session (or token family) was ended. `createdAt` (epoch ms): when
   * it began, so `at - createdAt` is how long it lived.
   */
  | (SessionEventBase & { type: 'destroyed'; reason: SessionDestroyedReason; createdAt?: number })
  /** The session passed its idle or absolute timeout; `createdAt` as for `destroyed`. */
  | (SessionEventBase & { type: 'expired'; reason: SessionExpiredReason; createdAt?: number })
  /** A request's session cookie, or the request itself (CSRF), was refused. */
  | (SessionEventBase & { type: 'rejected'; reason: SessionRejectedReason })
  /** The store stopped answering (once per outage, not per request); `operation`: the call that failed. */
  | (SessionEventBase & { type: 'store_error'; reason?: undefined; operation?: string })
  /** The store answers again after an outage. */
  | (SessionEventBase & { type: 'store_recovered'; reason?: undefined })
  /** A token log-in started a refresh-token family (`handle`: the family, the `sid` claim). */
  | (TokenEventBase & { type: 'token_issued'; reason?: undefined })
  /** A refresh token was redeemed: rotated, or (`reason: 'grace'`) a retry answered with its successor. */
  | (TokenEventBase & { type: 'token_refreshed'; reason?: 'grace' })
  /** A rotated refresh token came back: it was copied; `destroyed` (`reuse`) follows. */
  | (TokenEventBase & { type: 'refresh_reused'; reason?: undefined });

/** Kinds of session lifecycle events. */
export type SessionEventType = SessionEvent['type'];
