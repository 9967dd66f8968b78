import { Logger } from '@nestjs/common';
import type { EventOrigin } from '../events/event-origin.js';
import type { SessionEvent } from '../events/session-event.js';
import type { SessionEvents } from '../events/session-events.js';
import type { StoreTracing } from '../metrics/store-tracing.js';

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
  /** Told how long each store call took (metrics); unset, timing costs nothing. */
  onCall?: (operation: string, seconds: number) => void;

  constructor(
    private readonly events: SessionEvents,
    /** Spans of store calls, when `@opentelemetry/api` is installed. */
    private readonly tracing?: StoreTracing,
  ) {}

  get isDown(): boolean {
    return this.down;
  }

  /**
   * Runs one store call. `operation` (the store method), `kind` and `origin`
   * (the request it serves, if any) only describe the outage's first
   * failure and the recovery in their events.
   */
  async run<T>(
    call: () => Promise<T>,
    operation?: string,
    kind: SessionEvent['kind'] = 'cookie',
    origin?: EventOrigin,
  ): Promise<T> {
    let result: T;
    const started = this.onCall ? performance.now() : 0;
    const span = this.tracing?.start(operation ?? 'unknown', kind);
    try {
      result = await call();
    } catch (error) {
      if (span) this.tracing!.end(span, error);
      this.onCall?.(operation ?? 'unknown', (performance.now() - started) / 1000);
      if (!this.down) {
        this.down = true;
        this.logger.error(
          `Session store unavailable; requests that need a session answer 503 until it returns (${describe(error)})`,
        );
        this.events.emit({ type: 'store_error', kind, operation }, origin);
      }
      throw new SessionStoreUnavailableError(error);
    }
    if (span) this.tracing!.end(span);
    this.onCall?.(operation ?? 'unknown', (performance.now() - started) / 1000);
    if (this.down) {
      this.down = false;
      this.logger.log('Session store available again');
      this.events.emit({ type: 'store_recovered', kind }, origin);
    }
    return result;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
