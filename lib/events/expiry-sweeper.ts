import type { SessionRecord, UserSessionEntry } from '../stores/session-record.js';
import type { SessionStore } from '../stores/session-store.interface.js';
import type { StoreOutageMonitor } from '../stores/store-outage.js';
import type { SessionExpiredReason } from './session-event.js';
import type { SessionEvents } from './session-events.js';

/** The lifetimes a claimed record ended by: a cookie session's, or a refresh-token family's. */
export interface ExpiryLifetimes {
  idleMs: number;
  absoluteMs: number;
}

export interface ExpirySweeperSettings {
  store: SessionStore & Required<Pick<SessionStore, 'claimExpired'>>;
  outage: StoreOutageMonitor;
  events: SessionEvents;
  /** How often to sweep (ms). */
  intervalMs: number;
  /** Store TTLs run this long past a session's end (see SessionTiming.storeTtl). */
  endedRetentionMs: number;
  cookie: ExpiryLifetimes;
  /** Token families' lifetimes; absent when `tokens` is off. */
  tokens?: ExpiryLifetimes;
}

/** Records claimed per store call. */
const BATCH = 500;
/** Batches per sweep at most, so one sweep after a long pause stays short; the rest waits a tick. */
const BATCHES_PER_SWEEP = 20;

/**
 * Emits `expired` for sessions (and token families) whose time ran out,
 * whether or not a request ever comes back for them: every `intervalMs` it
 * claims the records whose store TTL ends within `endedRetentionMs` (their
 * end has passed, their record is still kept) through the store's
 * `claimExpired`, which hands each record to one caller only, so with many
 * app instances on one store each expiry is reported once. While it runs,
 * requests that meet an ended session do not emit `expired` themselves (that
 * would count it twice, or once per request).
 */
export class ExpirySweeper {
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;

  constructor(private readonly settings: ExpirySweeperSettings) {}

  start(): void {
    this.timer ??= setInterval(() => void this.sweep(), this.settings.intervalMs);
    // Never what keeps a process alive (a CLI, a test) once the app is done.
    this.timer.unref();
  }

  /** Stops the timer and waits for a sweep in flight (before the store closes under it). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.sweeping;
  }

  /** One sweep; overlapping ticks (a slow store) are skipped, not queued. */
  sweep(): Promise<void> {
    return (this.sweeping ??= this.claimAll().finally(() => (this.sweeping = undefined)));
  }

  private async claimAll(): Promise<void> {
    const { store, outage, endedRetentionMs } = this.settings;
    for (let batch = 0; batch < BATCHES_PER_SWEEP; batch++) {
      let claimed: UserSessionEntry[];
      try {
        claimed = await outage.run(
          () => store.claimExpired(Date.now() + endedRetentionMs, BATCH),
          'claimExpired',
        );
      } catch {
        return; // logged and evented once per outage by the monitor; the next tick retries
      }
      for (const { record } of claimed) this.report(record);
      if (claimed.length < BATCH) return;
    }
  }

  private report(record: SessionRecord): void {
    const family = record.refresh !== undefined;
    const lifetimes = (family && this.settings.tokens) || this.settings.cookie;
    this.settings.events.emit({
      type: 'expired',
      kind: family ? 'token' : 'cookie',
      handle: record.handle,
      userId: record.userId,
      reason: endedBy(record, lifetimes),
      createdAt: record.createdAt,
    });
  }
}

/** Which of the two timeouts came first for a record whose time ran out. */
function endedBy(
  record: SessionRecord,
  { idleMs, absoluteMs }: ExpiryLifetimes,
): SessionExpiredReason {
  return record.createdAt + absoluteMs <= record.lastSeenAt + idleMs ? 'absolute' : 'idle';
}
