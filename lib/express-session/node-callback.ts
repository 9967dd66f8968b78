import type { ExpressSessionCallback } from './express-session.interface.js';

/**
 * express-session's calling convention on top of a promise: with a
 * callback, `callback(null)` or `callback(error)` and `self` is returned;
 * without one, the promise itself.
 */
export function withCallback<T>(
  self: T,
  work: () => Promise<void>,
  callback: unknown,
): T | Promise<void> {
  const done = work();
  if (typeof callback !== 'function') return done;
  const cb = callback as ExpressSessionCallback;
  done.then(
    () => cb(null),
    (error: unknown) => cb(error),
  );
  return self;
}
