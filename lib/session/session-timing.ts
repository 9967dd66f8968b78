import type { SessionRecord } from '../stores/session-record.js';

/** The time settings every rule below is computed from (epoch and durations in ms). */
export interface SessionTimingOptions {
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  touchAfterMs: number;
  /** How long an ended or revoked record outlives its end, so its next request is told why. */
  endedRetentionMs: number;
  rotation: { everyMs: number; graceMs: number } | undefined;
}

/** Which timeout ended a session. */
export type SessionTimeout = 'idle_timeout' | 'absolute_timeout';

/**
 * Every time rule of a session in one place: when it ends (idle, absolute),
 * when a read-only request must record activity (touch), when its ID is due
 * for renewal, how long the store must keep it and how long its cookie lives.
 * Both timeouts count from the record's own timestamps, so they hold
 * whatever the store's TTL does.
 */
export class SessionTiming {
  constructor(private readonly options: SessionTimingOptions) {}

  /** Epoch ms at which a session ends unless it is active again: idle or absolute, whichever first. */
  endsAt(createdAt: number, lastSeenAt: number): number {
    return Math.min(
      lastSeenAt + this.options.idleTimeoutMs,
      createdAt + this.options.absoluteTimeoutMs,
    );
  }

  /** Which timeout, if any, has ended this record. */
  timedOut(record: Pick<SessionRecord, 'createdAt' | 'lastSeenAt'>, now: number) {
    if (now >= record.createdAt + this.options.absoluteTimeoutMs) return 'absolute_timeout';
    if (now >= record.lastSeenAt + this.options.idleTimeoutMs) return 'idle_timeout';
    return undefined;
  }

  /**
   * Whether a request must record activity although it changed nothing: the
   * recorded `lastSeenAt` is older than `touchAfter` (so most reads write nothing).
   */
  touchDue(lastSeenAt: number, now: number): boolean {
    return now - lastSeenAt >= this.options.touchAfterMs;
  }

  /** Periodic renewal is on and the ID was last rotated (or created) `rotation.every` ago. */
  renewalDue(rotatedAt: number, now: number): boolean {
    const rotation = this.options.rotation;
    return rotation !== undefined && now - rotatedAt >= rotation.everyMs;
  }

  /** How long an old ID still loads the session after a renewal (0: not at all). */
  get renewalGraceMs(): number {
    return this.options.rotation?.graceMs ?? 0;
  }

  /** Whether renewal is on (the rotation time is then recorded in the session). */
  get renews(): boolean {
    return this.options.rotation !== undefined;
  }

  /** Store TTL: until the session ends, plus the retention that lets its next request be told why. */
  storeTtl(createdAt: number, lastSeenAt: number, now: number): number {
    return Math.max(1, this.endsAt(createdAt, lastSeenAt) - now) + this.options.endedRetentionMs;
  }

  /** How long a tombstone or an ended record is kept. */
  get endedRetentionMs(): number {
    return this.options.endedRetentionMs;
  }

  /** The cookie lives as long as the session could: until the absolute timeout. */
  cookieMaxAge(createdAt: number, now: number): number {
    return createdAt + this.options.absoluteTimeoutMs - now;
  }
}
