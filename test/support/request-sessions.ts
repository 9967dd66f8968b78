import { CsrfTokens } from '../../lib/csrf/csrf-tokens.js';
import { RequestSession, type SessionRequestHooks } from '../../lib/session/request-session.js';
import { SessionTiming } from '../../lib/session/session-timing.js';

/** Hooks that do nothing: for unit tests about a session's own rules. */
export const NO_HOOKS: SessionRequestHooks = {
  sessionChanged() {},
  async destroyNow() {},
  async saveNow() {},
};

/** Hooks that count how often the session said it changed. */
export function countingHooks(): SessionRequestHooks & { changes: number } {
  return {
    changes: 0,
    sessionChanged() {
      this.changes++;
    },
    async destroyNow() {},
    async saveNow() {},
  };
}

/** A fresh (not yet stored) request session with these timeouts, outside any HTTP request. */
export function freshSession(
  hooks: SessionRequestHooks,
  timeouts: { idleTimeoutMs: number; absoluteTimeoutMs: number; maxSessionBytes?: number },
): RequestSession {
  const timing = new SessionTiming({
    idleTimeoutMs: timeouts.idleTimeoutMs,
    absoluteTimeoutMs: timeouts.absoluteTimeoutMs,
    touchAfterMs: Math.floor(timeouts.idleTimeoutMs / 2),
    endedRetentionMs: 60_000,
    rotation: undefined,
  });
  const settings = {
    timing,
    csrf: new CsrfTokens(['unit-test-secret-0123456789-abcdefghijkl']),
    maxSessionBytes: timeouts.maxSessionBytes,
  };
  return RequestSession.fresh(hooks, settings, {}, Date.now());
}
