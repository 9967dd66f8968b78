import { createHash } from 'node:crypto';
import type { SessionEvents } from '../events/session-events.js';
import type { SessionStore } from '../stores/session-store.interface.js';
import type { StoreOutageMonitor } from '../stores/store-outage.js';

/** Too many unknown or badly signed session IDs from one client: answered 429. */
export class TooManyFailuresError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('Too many invalid session IDs from this client');
    this.name = 'TooManyFailuresError';
  }
}

/**
 * Guessing defence: counts, per client address and fixed window, the
 * requests that present an unknown or badly signed session ID. The count
 * lives in the store (`incrementCounter`), so every instance sees the same
 * number; a store without counters gets an in-process count instead.
 */
export class FailureLimiter {
  private readonly local = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly store: SessionStore,
    private readonly outage: StoreOutageMonitor,
    private readonly events: SessionEvents,
    private readonly maxFailures: number,
    private readonly windowMs: number,
  ) {}

  /** Records one failure of `client`; throws TooManyFailuresError past the limit. */
  async fail(client: string): Promise<void> {
    // Hashed: the store and its dumps never hold client addresses in clear.
    const key = `bf:${createHash('sha256').update(client).digest('base64url')}`;
    const count = this.store.incrementCounter
      ? await this.outage.run(() => this.store.incrementCounter!(key, this.windowMs))
      : this.incrementLocally(key);
    if (count === this.maxFailures + 1) {
      this.events.emit({ type: 'brute_force_suspected', reason: 'invalid_session_ids' });
    }
    if (count > this.maxFailures) throw new TooManyFailuresError(Math.ceil(this.windowMs / 1000));
  }

  private incrementLocally(key: string): number {
    const now = Date.now();
    let entry = this.local.get(key);
    if (!entry || entry.resetAt <= now) {
      if (this.local.size > 100_000) this.local.clear(); // bounded, whatever the traffic
      entry = { count: 0, resetAt: now + this.windowMs };
      this.local.set(key, entry);
    }
    return ++entry.count;
  }
}
