import { Logger, type LogLevel } from '@nestjs/common';
import type { Observable, Subscription } from 'rxjs';
import type { SessionEvent } from './session-event.js';

/** The levels the event log may use (`fatal` and `error` are for failures, not events). */
export type SessionEventLogLevel = Extract<LogLevel, 'log' | 'warn' | 'debug' | 'verbose'>;

export interface SessionEventLogLevels {
  /** Lifecycle events: created, rotated, destroyed, expired, token_issued, token_refreshed. */
  level: SessionEventLogLevel;
  /** Events that may need a look: rejected, refresh_reused, destroyed `reuse`. */
  problemLevel: SessionEventLogLevel;
}

/**
 * The fields of an event in the order they are written; all public by design
 * (a session is named by its handle, never its ID; tokens and secrets are in
 * no event), so nothing secret can reach a log line from here.
 */
const FIELDS = ['kind', 'reason', 'handle', 'userId', 'operation', 'ip', 'userAgent'] as const;

/**
 * The module's default event subscriber: one line per event through Nest's
 * `Logger` (context `SessionEvents`), `type` first, then `key=value` fields
 * (`session expired kind=cookie reason=idle handle=… userId=…`). A value
 * that is not a plain word is JSON-quoted, so a hostile User-Agent cannot
 * break the line or forge another one. Store outages are left out: the
 * outage monitor logs them as errors already, once per outage.
 */
export class SessionEventLogger {
  private readonly logger = new Logger('SessionEvents');
  private subscription?: Subscription;

  constructor(private readonly levels: SessionEventLogLevels) {}

  observe(events$: Observable<SessionEvent>): void {
    this.subscription = events$.subscribe((event) => this.write(event));
  }

  close(): void {
    this.subscription?.unsubscribe();
  }

  private write(event: SessionEvent): void {
    if (event.type === 'store_error' || event.type === 'store_recovered') return;
    const level = isProblem(event) ? this.levels.problemLevel : this.levels.level;
    this.logger[level](formatEvent(event));
  }
}

/** `session <type> key=value ...`, one line. */
export function formatEvent(event: SessionEvent): string {
  let line = `session ${event.type}`;
  const fields = event as unknown as Record<string, unknown>;
  for (const name of FIELDS) {
    const value = fields[name];
    if (value !== undefined) line += ` ${name}=${quoted(value)}`;
  }
  return line;
}

function isProblem(event: SessionEvent): boolean {
  return (
    event.type === 'rejected' ||
    event.type === 'refresh_reused' ||
    (event.type === 'destroyed' && event.reason === 'reuse')
  );
}

const PLAIN = /^[\w.:@/+-]{1,256}$/;

function quoted(value: unknown): string {
  const text = String(value);
  return PLAIN.test(text) ? text : JSON.stringify(text);
}
