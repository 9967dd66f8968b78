/**
 * Default cap on live sessions per user. Without one, a script or a leaked
 * password could log one account in tens of thousands of times, and every
 * listing, "log out everywhere" and cap check of that user would walk them
 * all (on Redis, blocking the server for everyone).
 */
export const DEFAULT_MAX_SESSIONS_PER_USER = 100;

/** Validates a store's `maxSessionsPerUser` option: a positive integer or `Infinity`. */
export function resolveMaxSessionsPerUser(store: string, value: number | undefined): number {
  if (value === undefined) return DEFAULT_MAX_SESSIONS_PER_USER;
  if (value === Infinity || (Number.isInteger(value) && value > 0)) return value;
  throw new TypeError(
    `${store}: maxSessionsPerUser must be a positive integer or Infinity, got ${value}`,
  );
}
