import { MemoryStore, type MemoryStoreOptions } from '../../lib/stores/memory.store.js';
import type {
  SessionPatch,
  SessionRecord,
  UserSessionEntry,
} from '../../lib/stores/session-record.js';
import type {
  RedeemOutcome,
  RedeemRequest,
  RotateOptions,
  RotateOutcome,
  SessionStore,
  SessionStoreStats,
  SetOutcome,
} from '../../lib/stores/session-store.interface.js';

/** The SessionStore methods a CountingStore counts. */
export const STORE_METHODS = [
  'get',
  'set',
  'update',
  'rotate',
  'destroy',
  'revoke',
  'listForUser',
  'incrementCounter',
  'redeemRefreshToken',
  'peek',
] as const;
export type StoreMethod = (typeof STORE_METHODS)[number];
/**
 * Methods that change a session record. `incrementCounter` (the guessing
 * defence's per-client failure counter) is counted, but is not a session write.
 */
export const WRITE_METHODS: readonly StoreMethod[] = [
  'set',
  'update',
  'rotate',
  'destroy',
  'revoke',
  'redeemRefreshToken',
];

export interface CountingStoreOptions extends MemoryStoreOptions {
  /**
   * The store to count calls to (e.g. a RedisStore shared by two app
   * instances); default a new MemoryStore made from the other options.
   * `close()` closes it either way.
   */
  inner?: SessionStore;
  /** Delay every read (get, listForUser) by this many ms before it runs: widens race windows. */
  readDelayMs?: number;
  /** Delay every write by this many ms before it runs: a commit that is not awaited shows up as lost. */
  writeDelayMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A real store (a {@link MemoryStore} unless another is given) behind a
 * wrapper that counts the calls made to each method (counted when the call
 * starts). Not a mock: every call is served by the inner store. Apps that
 * share one CountingStore share one count.
 */
export class CountingStore implements SessionStore {
  readonly inner: SessionStore;
  readonly calls: Record<StoreMethod, number> = blank();
  readDelayMs: number;
  writeDelayMs: number;

  constructor(options: CountingStoreOptions = {}) {
    const { readDelayMs = 0, writeDelayMs = 0, inner, ...memory } = options;
    this.inner = inner ?? new MemoryStore(memory);
    this.readDelayMs = readDelayMs;
    this.writeDelayMs = writeDelayMs;
  }

  /** Zeroes the counters. */
  reset(): void {
    Object.assign(this.calls, blank());
  }

  /** All calls since the last reset. */
  total(): number {
    return STORE_METHODS.reduce((sum, m) => sum + this.calls[m], 0);
  }

  /** Calls that change the store since the last reset. */
  writes(): number {
    return WRITE_METHODS.reduce((sum, m) => sum + this.calls[m], 0);
  }

  /** The counters with zero entries left out, for readable assertions: `{ get: 1 }`. */
  nonZero(): Partial<Record<StoreMethod, number>> {
    const out: Partial<Record<StoreMethod, number>> = {};
    for (const m of STORE_METHODS) if (this.calls[m] > 0) out[m] = this.calls[m];
    return out;
  }

  async get(key: string): Promise<SessionRecord | null> {
    this.calls.get++;
    await this.pause(this.readDelayMs);
    return this.inner.get(key);
  }

  async set(key: string, record: SessionRecord, ttlMs: number): Promise<void | SetOutcome> {
    this.calls.set++;
    await this.pause(this.writeDelayMs);
    return this.inner.set(key, record, ttlMs);
  }

  async update(key: string, patch: SessionPatch, ttlMs: number): Promise<boolean> {
    this.calls.update++;
    await this.pause(this.writeDelayMs);
    return this.inner.update(key, patch, ttlMs);
  }

  async rotate(
    oldKey: string,
    newKey: string,
    record: SessionRecord,
    ttlMs: number,
    options: RotateOptions,
  ): Promise<RotateOutcome> {
    this.calls.rotate++;
    await this.pause(this.writeDelayMs);
    return this.inner.rotate(oldKey, newKey, record, ttlMs, options);
  }

  async destroy(key: string): Promise<void> {
    this.calls.destroy++;
    await this.pause(this.writeDelayMs);
    return this.inner.destroy(key);
  }

  async revoke(key: string, revokedAt: number, ttlMs: number): Promise<boolean> {
    this.calls.revoke++;
    await this.pause(this.writeDelayMs);
    return this.inner.revoke(key, revokedAt, ttlMs);
  }

  async listForUser(userId: string): Promise<UserSessionEntry[]> {
    this.calls.listForUser++;
    await this.pause(this.readDelayMs);
    return this.inner.listForUser(userId);
  }

  async incrementCounter(key: string, windowMs: number): Promise<number> {
    this.calls.incrementCounter++;
    if (!this.inner.incrementCounter) throw new Error('the inner store has no incrementCounter');
    return this.inner.incrementCounter(key, windowMs);
  }

  /** Token sessions (the sample always configures them): a refresh-token rotation. */
  async redeemRefreshToken(key: string, request: RedeemRequest): Promise<RedeemOutcome> {
    this.calls.redeemRefreshToken++;
    await this.pause(this.writeDelayMs);
    if (!this.inner.redeemRefreshToken)
      throw new Error('the inner store has no redeemRefreshToken');
    return this.inner.redeemRefreshToken(key, request);
  }

  /** The strict bearer check's one read of a token family. */
  async peek(key: string): Promise<SessionRecord | null> {
    this.calls.peek++;
    await this.pause(this.readDelayMs);
    return this.inner.peek ? this.inner.peek(key) : this.inner.get(key);
  }

  /**
   * The expiry sweeper's claims and the metrics' stats: passed through, not
   * counted (they run on a timer, so counting them would make any exact
   * count of a request's calls depend on when the timer fired).
   */
  async claimExpired(before: number, limit: number): Promise<UserSessionEntry[]> {
    if (!this.inner.claimExpired) throw new Error('the inner store has no claimExpired');
    return this.inner.claimExpired(before, limit);
  }

  async stats(): Promise<SessionStoreStats> {
    if (!this.inner.stats) throw new Error('the inner store has no stats');
    return this.inner.stats();
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }

  private async pause(ms: number): Promise<void> {
    if (ms > 0) await sleep(ms);
  }
}

function blank(): Record<StoreMethod, number> {
  const calls = {} as Record<StoreMethod, number>;
  for (const m of STORE_METHODS) calls[m] = 0;
  return calls;
}
