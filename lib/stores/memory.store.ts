import { ExpiryHeap } from './expiry-heap.js';
import { resolveMaxSessionsPerUser } from './per-user-cap.js';
import {
  copyRecord,
  familyEndsAt,
  forwardRecord,
  isLiveRecord,
  REFRESH_TOKEN_HISTORY,
  type SessionPatch,
  type SessionRecord,
  type UserSessionEntry,
} from './session-record.js';
import {
  MAX_FORWARD_HOPS,
  type RedeemOutcome,
  type RedeemRequest,
  type RotateOptions,
  type RotateOutcome,
  type SessionStore,
  type SessionStoreStats,
  type CappedSession,
  type SetOutcome,
} from './session-store.interface.js';

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Most sessions kept at once; when full, the anonymous session closest to
   * expiry is evicted to make room, and a logged-in session only when no
   * anonymous one is left (so a flood of cookie-less visitors cannot log
   * users out). Default `100_000`.
   */
  maxSessions?: number;
  /**
   * Most live sessions one user may hold; a log-in beyond it revokes that
   * user's sessions logged in (or rotated) longest ago, leaving tombstones so
   * they are told `revoked`. A rotation of a session never counts against
   * it. `Infinity`: no limit. Default `100`.
   */
  maxSessionsPerUser?: number;
  /** How often expired sessions are swept out, in ms. Default `60_000`. */
  sweepIntervalMs?: number;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
}

interface Entry {
  record: SessionRecord;
  expiresAt: number;
  /** On a refresh-token family: the digests of its latest tokens (reuse detection; see REFRESH_TOKEN_HISTORY). */
  issued?: Set<string>;
  /**
   * Answered by claimExpired since `expiresAt` was last set (each write
   * that sets the TTL clears it, so an extended session is claimable again
   * at its new end).
   */
  claimed?: boolean;
}

/**
 * What stats() counts per entry besides its strings: the Map slot, the entry
 * and record objects, the index and heap entries (a rough figure for V8 on
 * 64 bits, not a measurement).
 */
const ENTRY_OVERHEAD_BYTES = 300;
/** Per data key, token digest or role: the property or Set slot besides its strings. */
const SLOT_OVERHEAD_BYTES = 40;

/**
 * Sessions in this process's memory: for development, tests and single-instance
 * apps. Bounded in size, expired by TTL, with the same per-user index and
 * delta semantics as the Redis store. Records are copied in and out, as they
 * would be by a store in another process.
 */
export class MemoryStore implements SessionStore {
  private readonly entries = new Map<string, Entry>();
  /** Per user, the keys of their sessions in the order they were indexed (oldest first). */
  private readonly byUser = new Map<string, Set<string>>();
  /** Eviction order, kept apart so that anonymous sessions always go first. */
  private readonly anonymousExpiries = new ExpiryHeap();
  private readonly userExpiries = new ExpiryHeap();
  private readonly counters = new Map<string, { count: number; resetAt: number }>();
  private readonly maxSessions: number;
  private readonly maxSessionsPerUser: number;
  private readonly now: () => number;
  private sweeper?: NodeJS.Timeout;

  constructor(options: MemoryStoreOptions = {}) {
    this.maxSessions = options.maxSessions ?? 100_000;
    if (!Number.isInteger(this.maxSessions) || this.maxSessions < 1) {
      throw new TypeError(
        `MemoryStore: maxSessions must be a positive integer, got ${options.maxSessions}`,
      );
    }
    this.maxSessionsPerUser = resolveMaxSessionsPerUser('MemoryStore', options.maxSessionsPerUser);
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

  async peek(key: string): Promise<SessionRecord | null> {
    const entry = this.live(key);
    return entry ? { ...copyRecord(entry.record), data: {} } : null;
  }

  async set(key: string, record: SessionRecord, ttlMs: number): Promise<SetOutcome> {
    const entry = this.write(key, copyRecord(record), ttlMs);
    if (record.refresh) {
      const { current, previous } = record.refresh;
      entry.issued = new Set(previous === undefined ? [current] : [previous, current]);
    }
    return { capped: this.enforceCap(key, record) };
  }

  async update(key: string, patch: SessionPatch, ttlMs: number): Promise<boolean> {
    const found = this.follow(key);
    if (!found || !isLiveRecord(found.entry.record)) return false;
    const { entry } = found;
    const record = entry.record;
    if (patch.lastSeenAt !== undefined) record.lastSeenAt = patch.lastSeenAt;
    if (patch.set) Object.assign(record.data, patch.set);
    if (patch.unset) for (const name of patch.unset) delete record.data[name];
    this.setExpiry(found.key, entry, ttlMs);
    return true;
  }

  /** Check and move in one synchronous step: nothing can run in between. */
  async rotate(
    oldKey: string,
    newKey: string,
    record: SessionRecord,
    ttlMs: number,
    options: RotateOptions,
  ): Promise<RotateOutcome> {
    const old = this.live(oldKey);
    if (options.expectHandle !== undefined) {
      if (!old || old.record.handle !== options.expectHandle) return { status: 'gone' };
      if (old.record.movedTo !== undefined) return { status: 'moved', to: old.record.movedTo };
      if (old.record.revokedAt !== undefined) return { status: 'gone' };
    }
    this.remove(oldKey);
    if (old && options.forwardMs > 0) {
      this.write(
        oldKey,
        forwardRecord(old.record, newKey, options.readableUntil),
        options.forwardMs,
      );
    }
    this.write(newKey, copyRecord(record), ttlMs);
    // A log-in starts a new session (it counts); a rotation moves one (it does not).
    const capped = options.expectHandle === undefined ? this.enforceCap(newKey, record) : [];
    return capped.length > 0 ? { status: 'rotated', capped } : { status: 'rotated' };
  }

  async destroy(key: string): Promise<void> {
    // Along the forwards: a logout that raced a rotation ends the session it moved into.
    let next: string | undefined = key;
    for (let hops = 0; next !== undefined && hops <= MAX_FORWARD_HOPS; hops++) {
      const movedTo: string | undefined = this.live(next)?.record.movedTo;
      this.remove(next);
      next = movedTo;
    }
  }

  async revoke(key: string, revokedAt: number, ttlMs: number): Promise<boolean> {
    const found = this.follow(key);
    if (!found || !isLiveRecord(found.entry.record)) return false;
    this.tombstone(found.key, found.entry.record, revokedAt, ttlMs);
    return true;
  }

  async listForUser(userId: string): Promise<UserSessionEntry[]> {
    const keys = this.byUser.get(userId);
    if (!keys) return [];
    const sessions: UserSessionEntry[] = [];
    for (const key of keys) {
      const entry = this.live(key);
      if (entry && entry.record.userId === userId && isLiveRecord(entry.record)) {
        sessions.push({ key, record: copyRecord(entry.record) });
      } else {
        keys.delete(key); // prune lazily
      }
    }
    if (keys.size === 0) this.byUser.delete(userId);
    return sessions;
  }

  /** Check and write in one synchronous step, as the Redis script does in one call. */
  async redeemRefreshToken(key: string, request: RedeemRequest): Promise<RedeemOutcome> {
    const entry = this.live(key);
    const record = entry?.record;
    if (!entry || !record || record.movedTo !== undefined) return { status: 'unknown' };
    if (record.revokedAt !== undefined) return { status: 'revoked' };
    const state = record.refresh;
    if (!state || !entry.issued?.has(request.presented)) return { status: 'unknown' };
    const { now } = request;
    const endsAt = familyEndsAt(record, request.absoluteMs, request.idleMs);
    if (endsAt <= now) return { status: 'expired' };
    if (request.presented === state.current) {
      record.refresh = {
        current: request.successor,
        generation: state.generation + 1,
        previous: request.presented,
        rotatedAt: now,
        sealedSuccessor: request.sealedSuccessor,
      };
      record.lastSeenAt = now;
      entry.issued.add(request.successor);
      // A Set iterates in insertion order: the first is the oldest token remembered.
      if (entry.issued.size > REFRESH_TOKEN_HISTORY) {
        entry.issued.delete(entry.issued.values().next().value!);
      }
      const remaining = familyEndsAt(record, request.absoluteMs, request.idleMs) - now;
      this.setExpiry(key, entry, remaining + Math.max(0, request.retainMs ?? 0));
      return { status: 'rotated', record: copyRecord(record) };
    }
    if (
      request.presented === state.previous &&
      request.graceMs > 0 &&
      state.sealedSuccessor !== undefined &&
      now - state.rotatedAt! <= request.graceMs
    ) {
      return {
        status: 'replayed',
        record: copyRecord(record),
        sealedSuccessor: state.sealedSuccessor,
      };
    }
    // A token this family issued and rotated away: it was copied. End the family.
    const before = copyRecord(record);
    this.tombstone(key, record, now, request.revokedTtlMs);
    return { status: 'reused', record: before };
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

  /**
   * Answers, once each, up to `limit` live entries whose TTL ends at or
   * before `before` (one pass over the entries: O(n), nothing on the request
   * path but clearing a flag). An entry already past its TTL is gone: it is
   * deleted, not answered (the caller asks `endedRetentionMs` ahead, so a
   * session is claimed while its record is still kept).
   */
  async claimExpired(before: number, limit: number): Promise<UserSessionEntry[]> {
    const now = this.now();
    const claimed: UserSessionEntry[] = [];
    for (const [key, entry] of this.entries) {
      if (claimed.length >= limit) break;
      if (entry.claimed || entry.expiresAt > before) continue;
      if (entry.expiresAt <= now) {
        this.remove(key); // deleting the entry being visited is safe in a Map
        continue;
      }
      if (!isLiveRecord(entry.record)) continue;
      entry.claimed = true;
      claimed.push({ key, record: copyRecord(entry.record) });
    }
    return claimed;
  }

  /**
   * `activeSessions`: live entries (not tombstones or forwards) whose TTL has
   * not ended, as Redis's expiry index counts them. `memoryBytes`: an
   * estimate of what the entries take (two bytes per character of every key,
   * field and value, plus a fixed overhead per entry and per field), not a
   * measurement: V8 does not tell what one object graph holds. One pass.
   */
  async stats(): Promise<SessionStoreStats> {
    const now = this.now();
    let activeSessions = 0;
    let memoryBytes = 0;
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt > now && isLiveRecord(entry.record)) activeSessions++;
      memoryBytes += estimateBytes(key, entry);
    }
    return { activeSessions, memoryBytes };
  }

  /** Stops the sweeper and forgets everything. */
  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    this.entries.clear();
    this.byUser.clear();
    this.anonymousExpiries.clear();
    this.userExpiries.clear();
    this.counters.clear();
  }

  /** Deletes every expired session now (also runs on a timer). */
  sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt <= now) this.remove(key);
    }
    this.compactExpiries();
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

  /** The live entry under `key`, or the one its forwards lead to (a forward is never the answer). */
  private follow(key: string): { key: string; entry: Entry } | undefined {
    let current = key;
    for (let hops = 0; hops <= MAX_FORWARD_HOPS; hops++) {
      const entry = this.live(current);
      if (!entry) return undefined;
      if (entry.record.movedTo === undefined) return { key: current, entry };
      current = entry.record.movedTo;
    }
    return undefined;
  }

  private tombstone(key: string, record: SessionRecord, revokedAt: number, ttlMs: number): void {
    const { handle, createdAt, lastSeenAt } = record;
    this.write(key, { handle, createdAt, lastSeenAt, revokedAt, data: {} }, ttlMs);
  }

  /**
   * Beyond the per-user cap: revokes the user's sessions indexed longest ago
   * (never `current`), and answers which.
   */
  private enforceCap(current: string, record: SessionRecord): CappedSession[] {
    if (record.userId === undefined || !isLiveRecord(record)) return [];
    const keys = this.byUser.get(record.userId);
    if (!keys || keys.size <= this.maxSessionsPerUser) return [];
    // Count live sessions only (the index is pruned lazily), then revoke the
    // oldest beyond the cap: a Set iterates in insertion order.
    const others = [...keys].filter((key) => key !== current && this.live(key) !== undefined);
    const now = this.now();
    const capped: CappedSession[] = [];
    for (const key of others.slice(0, others.length + 1 - this.maxSessionsPerUser)) {
      const entry = this.entries.get(key)!;
      const { handle, createdAt, refresh } = entry.record;
      capped.push({ handle, createdAt, kind: refresh ? 'token' : 'cookie' });
      this.tombstone(key, entry.record, now, Math.max(1, entry.expiresAt - now));
    }
    return capped;
  }

  private write(key: string, record: SessionRecord, ttlMs: number): Entry {
    const previous = this.entries.get(key);
    if (previous) this.unindex(key, previous.record);
    else this.makeRoom();
    const entry: Entry = { record, expiresAt: 0 };
    this.entries.set(key, entry);
    this.setExpiry(key, entry, ttlMs);
    if (isUserEntry(entry)) {
      let keys = this.byUser.get(record.userId!);
      if (!keys) this.byUser.set(record.userId!, (keys = new Set()));
      keys.add(key);
    }
    return entry;
  }

  private setExpiry(key: string, entry: Entry, ttlMs: number): void {
    entry.expiresAt = this.now() + ttlMs;
    entry.claimed = false;
    (isUserEntry(entry) ? this.userExpiries : this.anonymousExpiries).push(key, entry.expiresAt);
    // Each refresh leaves a stale heap entry behind; rebuild before they dominate.
    if (this.anonymousExpiries.size + this.userExpiries.size > 2 * this.entries.size + 1024) {
      this.compactExpiries();
    }
  }

  /** An entry of `heap` is current while its session still expires then and is still of its kind. */
  private isCurrentIn(users: boolean): (key: string, expiresAt: number) => boolean {
    return (key, expiresAt) => {
      const entry = this.entries.get(key);
      return entry !== undefined && entry.expiresAt === expiresAt && isUserEntry(entry) === users;
    };
  }

  private compactExpiries(): void {
    this.anonymousExpiries.compact(this.isCurrentIn(false));
    this.userExpiries.compact(this.isCurrentIn(true));
  }

  /** Full: evict anonymous sessions (tombstones and forwards included) first, users last. */
  private makeRoom(): void {
    while (this.entries.size >= this.maxSessions) {
      const victim =
        this.anonymousExpiries.popCurrent(this.isCurrentIn(false)) ??
        this.userExpiries.popCurrent(this.isCurrentIn(true));
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

/** stats()'s estimate for one entry (see ENTRY_OVERHEAD_BYTES). */
function estimateBytes(key: string, { record, issued }: Entry): number {
  const { refresh } = record;
  let chars = key.length + record.handle.length + (record.userId?.length ?? 0);
  chars += (record.movedTo?.length ?? 0) + (refresh?.current.length ?? 0);
  chars += (refresh?.previous?.length ?? 0) + (refresh?.sealedSuccessor?.length ?? 0);
  let slots = 0;
  for (const role of record.roles ?? []) {
    chars += role.length;
    slots++;
  }
  for (const name in record.data) {
    chars += name.length + record.data[name].length;
    slots++;
  }
  for (const token of issued ?? []) {
    chars += token.length;
    slots++;
  }
  return ENTRY_OVERHEAD_BYTES + 2 * chars + SLOT_OVERHEAD_BYTES * slots;
}

/** A logged-in, live session: indexed under its user, evicted last. */
function isUserEntry(entry: Entry): boolean {
  return entry.record.userId !== undefined && isLiveRecord(entry.record);
}
