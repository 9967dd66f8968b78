import { ExpiryHeap } from './expiry-heap.js';
import {
  copyRecord,
  type SessionPatch,
  type SessionRecord,
  type UserSessionEntry,
} from './session-record.js';
import type { SessionStore } from './session-store.interface.js';

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Most sessions kept at once; when full, the session closest to expiry is
   * evicted to make room. Default `100_000`.
   */
  maxSessions?: number;
  /** How often expired sessions are swept out, in ms. Default `60_000`. */
  sweepIntervalMs?: number;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
}

interface Entry {
  record: SessionRecord;
  expiresAt: number;
}

/**
 * Sessions in this process's memory: for development, tests and single-instance
 * apps. Bounded in size, expired by TTL, with the same per-user index and
 * delta semantics as the Redis store. Records are copied in and out, as they
 * would be by a store in another process.
 */
export class MemoryStore implements SessionStore {
  private readonly entries = new Map<string, Entry>();
  private readonly byUser = new Map<string, Set<string>>();
  private readonly expiries = new ExpiryHeap();
  private readonly counters = new Map<string, { count: number; resetAt: number }>();
  private readonly maxSessions: number;
  private readonly now: () => number;
  private sweeper?: NodeJS.Timeout;

  constructor(options: MemoryStoreOptions = {}) {
    this.maxSessions = options.maxSessions ?? 100_000;
    if (!Number.isInteger(this.maxSessions) || this.maxSessions < 1) {
      throw new TypeError(
        `MemoryStore: maxSessions must be a positive integer, got ${options.maxSessions}`,
      );
    }
    this.now = options.now ?? Date.now;
    const sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
    this.sweeper = setInterval(() => this.sweep(), sweepIntervalMs);
    // The sweeper must never keep a process alive on its own.
    this.sweeper.unref();
  }

  /** Number of sessions held (expired ones included until swept). */
  get size(): number {
    return this.entries.size;
  }

  async get(key: string): Promise<SessionRecord | null> {
    const entry = this.live(key);
    return entry ? copyRecord(entry.record) : null;
  }

  async set(key: string, record: SessionRecord, ttlMs: number): Promise<void> {
    this.write(key, copyRecord(record), ttlMs);
  }

  async update(key: string, patch: SessionPatch, ttlMs: number): Promise<boolean> {
    const entry = this.live(key);
    if (!entry || entry.record.revokedAt !== undefined) return false;
    const record = entry.record;
    if (patch.lastSeenAt !== undefined) record.lastSeenAt = patch.lastSeenAt;
    if (patch.set) Object.assign(record.data, patch.set);
    if (patch.unset) for (const name of patch.unset) delete record.data[name];
    this.setExpiry(key, entry, ttlMs);
    return true;
  }

  async rotate(
    oldKey: string,
    newKey: string,
    record: SessionRecord,
    ttlMs: number,
  ): Promise<void> {
    this.write(newKey, copyRecord(record), ttlMs);
    this.remove(oldKey);
  }

  async destroy(key: string): Promise<void> {
    this.remove(key);
  }

  async revoke(key: string, revokedAt: number, ttlMs: number): Promise<boolean> {
    const entry = this.live(key);
    if (!entry || entry.record.revokedAt !== undefined) return false;
    const { handle, createdAt, lastSeenAt } = entry.record;
    this.write(key, { handle, createdAt, lastSeenAt, revokedAt, data: {} }, ttlMs);
    return true;
  }

  async listForUser(userId: string): Promise<UserSessionEntry[]> {
    const keys = this.byUser.get(userId);
    if (!keys) return [];
    const sessions: UserSessionEntry[] = [];
    for (const key of keys) {
      const entry = this.live(key);
      if (entry && entry.record.userId === userId && entry.record.revokedAt === undefined) {
        sessions.push({ key, record: copyRecord(entry.record) });
      } else {
        keys.delete(key); // prune lazily
      }
    }
    if (keys.size === 0) this.byUser.delete(userId);
    return sessions;
  }

  async incrementCounter(key: string, windowMs: number): Promise<number> {
    const now = this.now();
    let counter = this.counters.get(key);
    if (!counter || counter.resetAt <= now) {
      if (this.counters.size >= this.maxSessions) this.sweepCounters(now);
      counter = { count: 0, resetAt: now + windowMs };
      this.counters.set(key, counter);
    }
    return ++counter.count;
  }

  /** Stops the sweeper and forgets everything. */
  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    this.entries.clear();
    this.byUser.clear();
    this.expiries.clear();
    this.counters.clear();
  }

  /** Deletes every expired session now (also runs on a timer). */
  sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt <= now) this.remove(key);
    }
    this.expiries.compact((key, expiresAt) => this.entries.get(key)?.expiresAt === expiresAt);
    this.sweepCounters(now);
  }

  private sweepCounters(now: number): void {
    for (const [key, counter] of this.counters)
      if (counter.resetAt <= now) this.counters.delete(key);
    // Still full of live counters (an attack from very many addresses): start over, stay bounded.
    if (this.counters.size >= this.maxSessions) this.counters.clear();
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.remove(key);
      return undefined;
    }
    return entry;
  }

  private write(key: string, record: SessionRecord, ttlMs: number): void {
    const previous = this.entries.get(key);
    if (previous) this.unindex(key, previous.record);
    else this.makeRoom();
    const entry: Entry = { record, expiresAt: 0 };
    this.entries.set(key, entry);
    this.setExpiry(key, entry, ttlMs);
    if (record.userId !== undefined && record.revokedAt === undefined) {
      let keys = this.byUser.get(record.userId);
      if (!keys) this.byUser.set(record.userId, (keys = new Set()));
      keys.add(key);
    }
  }

  private setExpiry(key: string, entry: Entry, ttlMs: number): void {
    entry.expiresAt = this.now() + ttlMs;
    this.expiries.push(key, entry.expiresAt);
    // Each refresh leaves a stale heap entry behind; rebuild before they dominate.
    if (this.expiries.size > 2 * this.entries.size + 1024) {
      this.expiries.compact((k, at) => this.entries.get(k)?.expiresAt === at);
    }
  }

  private makeRoom(): void {
    while (this.entries.size >= this.maxSessions) {
      const victim = this.expiries.popCurrent(
        (key, expiresAt) => this.entries.get(key)?.expiresAt === expiresAt,
      );
      if (victim === undefined) return;
      this.remove(victim);
    }
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.unindex(key, entry.record);
  }

  private unindex(key: string, record: SessionRecord): void {
    if (record.userId === undefined) return;
    const keys = this.byUser.get(record.userId);
    if (!keys) return;
    keys.delete(key);
    if (keys.size === 0) this.byUser.delete(record.userId);
  }
}
