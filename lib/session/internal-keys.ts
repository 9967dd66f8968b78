/**
 * Session keys the module keeps for itself, stored beside the app's keys (so
 * every store handles them like any other key, delta saves included) but
 * hidden from the app: `keys()` leaves them out and `set()` refuses them.
 */
export const INTERNAL_KEY_PREFIX = '$';

/** The per-session secret that CSRF tokens are derived from. */
export const CSRF_SECRET_KEY = '$csrf';
/** Digest of the User-Agent the session is bound to (`bindTo: ['user-agent']`). */
export const BOUND_AGENT_KEY = '$ua';
/**
 * The client of the log-in, `{ userAgent, ip }` (User-Agent cut to 256
 * characters), for `SessionService.listForUser()`: which device is which.
 */
export const LOGIN_CLIENT_KEY = '$client';
/** Epoch ms of the last rotation, for periodic renewal (`rotation.every`). */
export const ROTATED_AT_KEY = '$rot';

export function isInternalKey(key: string): boolean {
  return key.startsWith(INTERNAL_KEY_PREFIX);
}
