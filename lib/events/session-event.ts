/** What every event carries. */
interface SessionEventBase {
  /** Epoch ms. */
  at: number;
  /** The session's public `handle` (as `listForUser()` shows it), never its ID. */
  handle?: string;
  /** The session's user, once logged in. */
  userId?: string;
}

/** Why a session was revoked: by `revoke()`, by `revokeAllForUser()`, or as a stolen cookie (`bindTo`). */
export type SessionRevokedReason = 'user' | 'all' | 'hijack_suspected';

/** Which rotation gave the session a new ID: `setRoles()`, `regenerate()`/`@RotateSession()`, or `rotation.every`. */
export type SessionRotatedReason = 'privilege' | 'regenerate' | 'periodic';

/**
 * A lifecycle event, as emitted on `SessionService.events$`: one member per
 * `type`, each with the `reason`s it can carry. It names the session by its
 * public `handle`, never its ID.
 */
export type SessionEvent =
  /** A session was written to the store for the first time. */
  | (SessionEventBase & { type: 'created'; reason?: undefined })
  /**
   * `logIn()` was committed. `reason: 'login'` when it rotated an existing
   * session; without a reason when the log-in created the session (then
   * `created` comes first).
   */
  | (SessionEventBase & { type: 'logged_in'; reason?: 'login' })
  /** The session got a new ID, keeping its data. */
  | (SessionEventBase & { type: 'rotated'; reason: SessionRotatedReason })
  /** `destroy()` (a logout) ended the session. */
  | (SessionEventBase & { type: 'destroyed'; reason?: undefined })
  /** A request found the session past its idle or absolute timeout. */
  | (SessionEventBase & { type: 'expired'; reason: 'idle_timeout' | 'absolute_timeout' })
  /** The session was ended by the app (`revoke()`, `revokeAllForUser()`) or as a stolen cookie. */
  | (SessionEventBase & { type: 'revoked'; reason: SessionRevokedReason })
  /** The session was presented by another User-Agent than the one it is bound to (it is revoked too). */
  | (SessionEventBase & { type: 'hijack_suspected'; reason: 'user-agent' })
  /** A client went past `bruteForce.maxFailures` cookies that do not verify (once per client and window). */
  | (SessionEventBase & { type: 'brute_force_suspected'; reason: 'invalid_session_ids' })
  /** The store stopped answering (once per outage, not per request). */
  | (SessionEventBase & { type: 'store_unavailable'; reason?: undefined })
  /** The store answers again after an outage. */
  | (SessionEventBase & { type: 'store_recovered'; reason?: undefined })
  /** Token sessions: a log-in started a refresh-token family (`handle`: the family, the `sid` claim). */
  | (SessionEventBase & { type: 'token_issued'; reason?: undefined })
  /** A refresh token was redeemed: rotated, or (`reason: 'grace'`) a retry answered with its successor. */
  | (SessionEventBase & { type: 'token_refreshed'; reason?: 'grace' })
  /** A rotated refresh token came back: it was copied, and the whole family is revoked. */
  | (SessionEventBase & { type: 'refresh_reused'; reason?: undefined })
  /** A family was ended by its logout (`TokenService.revokeRefreshToken()`). */
  | (SessionEventBase & { type: 'token_revoked'; reason: 'logout' });

/** Kinds of session lifecycle events. */
export type SessionEventType = SessionEvent['type'];
