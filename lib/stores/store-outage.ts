import { Logger } from '@nestjs/common';
import type { SessionEvents } from '../events/session-events.js';

/** A store call failed: the session cannot be known, so the request fails closed (503). */
export class SessionStoreUnavailableError extends Error {
  constructor(cause: unknown) {
    super('The session store is unavailable', { cause });
    this.name = 'SessionStoreUnavailableError';
  }
}

/**
 * Runs store calls and tracks outages: the first failure of an outage is
 * logged (once, not per request) and the first success after it is logged as
 * the recovery. Store errors carry hashed keys at most, never a session ID.
 */
export class StoreOutageMonitor {
  private readonly logger = new Logger('SessionModule');
  private down = false;

  constructor(private readonly events: SessionEvents) {}

  get isDown(): boolean {
    return this.down;
  }

  async run<T>(call: () => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await call();
    } catch (error) {
      if (!this.down) {
        this.down = true;
        this.logger.error(
          `Session store unavailable; requests that need a session answer 503 until it returns (${describe(error)})`,
        );
        this.events.emit({ type: 'store_unavailable' });
      }
      throw new SessionStoreUnavailableError(error);
    }
    if (this.down) {
      this.down = false;
      this.logger.log('Session store available again');
      this.events.emit({ type: 'store_recovered' });
    }
    return result;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
