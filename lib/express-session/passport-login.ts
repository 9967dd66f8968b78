import type { RequestSession } from '../session/request-session.js';

/** Where Passport keeps its log-in in the session (its SessionManager's default `key`). */
export const PASSPORT_SESSION_KEY = 'passport';

/** A serialized user this module can log in: a non-empty string or a finite number. */
function asUserId(user: unknown): string | number | undefined {
  if (typeof user === 'string' && user !== '') return user;
  if (typeof user === 'number' && Number.isFinite(user)) return user;
  return undefined;
}

/**
 * The Passport bridge, run at `req.session.save()` (which Passport's
 * `req.logIn()` and `req.logOut()` both call): Passport's log-in state,
 * `req.session.passport.user`, becomes this module's.
 *
 * - A serialized user that is a string or a number, and not the session's
 *   user yet: `session.logIn({ userId })`, keeping the session's data (a
 *   new ID and a new session record at commit, as for any log-in), so
 *   `SessionGuard`, `listForUser()` and `revokeAllForUser()` see a
 *   logged-in session. Any other serialized user (an object) stays plain
 *   session data: Passport restores it, this module does not know the user.
 * - The user removed from a logged-in session (`req.logOut()`): the
 *   session ends, as `session.destroy()` would (Passport regenerates next).
 */
export async function syncPassportLogin(session: RequestSession): Promise<void> {
  if (!session.has(PASSPORT_SESSION_KEY)) return;
  const state = session.get(PASSPORT_SESSION_KEY);
  const user =
    state !== null && typeof state === 'object' ? (state as { user?: unknown }).user : undefined;
  if (user === undefined || user === null) {
    if (session.isAuthenticated) await session.destroy();
    return;
  }
  const userId = asUserId(user);
  if (userId === undefined || session.userId === String(userId)) return;
  await session.logIn({ userId, keep: session.keys() });
}
