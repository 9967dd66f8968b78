import { createHash } from 'node:crypto';
import type { EventOrigin } from '../events/event-origin.js';
import type { SessionEvents } from '../events/session-events.js';
import type { SessionStore } from '../stores/session-store.interface.js';
import type { StoreOutageMonitor } from '../stores/store-outage.js';

/**
 * Guessing defence: counts, per client address and fixed window, the
 * requests whose session cookie does not verify (bad signature, malformed).
 * A well-signed ID the store does not know is never counted: that is what
 * every user returning after the idle timeout carries, and counting it let
 * garbage from a shared address (NAT, an office, a proxy) lock real users
 * out. The count lives in the store (`incrementCounter`), so every instance
 * sees the same number; a store without counters gets an in-process count.
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

  /**
   * Records one failure of the request's client; answers the seconds it must
   * wait once past the limit (the request is then refused 429 where a
   * session is required), else `undefined`.
   */
  async fail(request: EventOrigin): Promise<number | undefined> {
    // Hashed: the store and its dumps never hold client addresses in clear.
    const client = request.clientAddress();
    const key = `bf:${createHash('sha256').update(client).digest('base64url')}`;
    const count = this.store.incrementCounter
      ? await this.outage.run(
          () => this.store.incrementCounter!(key, this.windowMs),
          'incrementCounter',
          'cookie',
          request,
        )
      : this.incrementLocally(key);
    // Exactly once per client and window: the request that goes one past the limit.
    if (count === this.maxFailures + 1) {
      this.events.emit({ type: 'rejected', kind: 'cookie', reason: 'brute_force' }, request);
    }
    return count > this.maxFailures ? Math.ceil(this.windowMs / 1000) : undefined;
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
