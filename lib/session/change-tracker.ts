import { isInternalKey } from './internal-keys.js';
import { assertSessionFits, entryBytes, SizeChange } from './session-size.js';

/**
 * Session data as top-level keys, kept in serialized form until read, with
 * enough bookkeeping to write back only what changed: an unchanged session is
 * not rewritten, and two requests writing different keys both survive.
 *
 * A value can only change if the app got hold of it, so only keys that were
 * read or written are re-serialized at commit; a deep mutation
 * (`session.get('cart').push(x)`) shows up as a different serialized form.
 *
 * It also bounds the session's size (`maxSessionBytes`, see session-size.ts)
 * without serializing anything twice: `set()` gets the serialized form its
 * caller made anyway and adjusts a running total, and the commit points,
 * `delta()` and `snapshot()`, measure only the keys they re-serialize. So
 * `set()` refuses a write that does not fit, and a value grown in place
 * past the bound is refused at commit.
 */
// Never written to: every write goes through writableValues()/writableRemoved()/writableSizes().
const EMPTY_MAP: Map<string, unknown> = new Map();
const EMPTY_SET: Set<string> = new Set();
const EMPTY_SIZES: Map<string, number> = new Map();

export class ChangeTracker {
  /** Serialized values as loaded (or as last committed). */
  private baseline: Record<string, string>;
  /** Parsed values handed to the app, by key. Shared empty instances until first use: most requests never write. */
  private values: Map<string, unknown> = EMPTY_MAP;
  /** Keys removed by the app. */
  private removed: Set<string> = EMPTY_SET;
  /** Bytes (entryBytes) of each key set since the baseline, as of its set(). */
  private sizes: Map<string, number> = EMPTY_SIZES;
  /** Bytes of the baseline; measured on first need (most requests never write). */
  private baselineSize: number | undefined;
  /** The baseline's bytes adjusted by every set()/unset() since (`undefined`: none yet). */
  private knownSize: number | undefined;

  /**
   * @param serialized the session's data as stored
   * @param maxBytes the bound on the data's size (`maxSessionBytes`); default: none
   */
  constructor(
    serialized: Record<string, string> = {},
    private readonly maxBytes = Number.POSITIVE_INFINITY,
  ) {
    this.baseline = {};
    for (const key of Object.keys(serialized)) {
      // Keys that could reach an object's prototype are ignored on load, whatever the store holds.
      if (!isForbiddenKey(key)) this.baseline[key] = serialized[key];
    }
  }

  has(key: string): boolean {
    if (this.removed.has(key)) return false;
    return this.values.has(key) || Object.hasOwn(this.baseline, key);
  }

  get(key: string): unknown {
    if (this.removed.has(key)) return undefined;
    if (this.values.has(key)) return this.values.get(key);
    if (!Object.hasOwn(this.baseline, key)) return undefined;
    const value = parseOrUndefined(this.baseline[key]);
    this.writableValues().set(key, value);
    return value;
  }

  /**
   * Sets a key, unless that takes the session over `maxBytes`: then it
   * throws `SessionTooLargeException` and nothing changes (module keys, `$...`,
   * count but are never refused; see session-size.ts). `serialized` is the
   * value's JSON form when the caller has it already.
   */
  set(key: string, value: unknown, serialized: string | undefined = serialize(key, value)): void {
    // JSON has no `undefined`: setting it is removing the key (and must not make a session non-empty).
    if (value === undefined) return this.unset(key);
    const before = this.serializedSize();
    const previous = this.currentBytes(key);
    const next = serialized === undefined ? 0 : entryBytes(key, serialized);
    const after = before - previous + next;
    assertSessionFits(after, this.maxBytes, next > previous && !isInternalKey(key), key);
    this.removed.delete(key);
    this.writableValues().set(key, value);
    this.writableSizes().set(key, next);
    this.knownSize = after;
  }

  unset(key: string): void {
    this.knownSize = this.serializedSize() - this.currentBytes(key);
    this.values.delete(key);
    this.sizes.delete(key);
    if (Object.hasOwn(this.baseline, key)) this.writableRemoved().add(key);
  }

  /**
   * The data's size in bytes (what `maxSessionBytes` bounds) as `set()` and
   * `unset()` know it: a value changed in place since it was loaded or set
   * still counts at its earlier size; `delta()`/`snapshot()` measure it.
   */
  serializedSize(): number {
    return this.knownSize ?? this.baselineBytes();
  }

  private baselineBytes(): number {
    if (this.baselineSize === undefined) {
      let bytes = 0;
      for (const key in this.baseline) bytes += entryBytes(key, this.baseline[key]);
      this.baselineSize = bytes;
    }
    return this.baselineSize;
  }

  /** Bytes the key takes now, as far as set()/unset() know. */
  private currentBytes(key: string): number {
    if (this.removed.has(key)) return 0;
    const set = this.sizes.get(key);
    if (set !== undefined) return set;
    return Object.hasOwn(this.baseline, key) ? entryBytes(key, this.baseline[key]) : 0;
  }

  /** How many bytes more than its baseline form a key takes, serialized as `serialized`. */
  private growth(key: string, serialized: string | undefined): number {
    if (serialized === this.baseline[key]) return 0;
    const now = serialized === undefined ? 0 : entryBytes(key, serialized);
    return Object.hasOwn(this.baseline, key) ? now - entryBytes(key, this.baseline[key]) : now;
  }

  /**
   * At a commit point: refuses data that the app's keys grew from the
   * baseline past the bound. The module's own growth in this request is left
   * out (it counts from the next request on, as part of the baseline), so
   * whatever set() accepted, the commit accepts: only a value grown in place
   * can be refused here.
   */
  private assertCommitFits(change: SizeChange): void {
    if (change.app <= 0 || this.maxBytes === Number.POSITIVE_INFINITY) return;
    assertSessionFits(this.baselineBytes() + change.app, this.maxBytes, true);
  }

  private writableValues(): Map<string, unknown> {
    if (this.values === EMPTY_MAP) this.values = new Map();
    return this.values;
  }

  private writableRemoved(): Set<string> {
    if (this.removed === EMPTY_SET) this.removed = new Set();
    return this.removed;
  }

  private writableSizes(): Map<string, number> {
    if (this.sizes === EMPTY_SIZES) this.sizes = new Map();
    return this.sizes;
  }

  /** The size bookkeeping starts again from a new baseline. */
  private resetSizes(): void {
    this.sizes = EMPTY_SIZES;
    this.baselineSize = undefined;
    this.knownSize = undefined;
  }

  /** False when the app neither read nor wrote any key: nothing can have changed. */
  get mayHaveChanged(): boolean {
    return this.values.size > 0 || this.removed.size > 0;
  }

  /** Whether any key is present, without building the key list. */
  get isEmpty(): boolean {
    if (this.values.size > 0) return false;
    for (const key in this.baseline) if (!this.removed.has(key)) return false;
    return true;
  }

  keys(): string[] {
    const all = new Set([...Object.keys(this.baseline), ...this.values.keys()]);
    for (const key of this.removed) all.delete(key);
    return [...all];
  }

  /**
   * Every current key in serialized form (for a full write). Throws
   * `SessionTooLargeException` when the data grew past the bound.
   */
  snapshot(): Record<string, string> {
    return this.serializeAll(true);
  }

  private serializeAll(bounded: boolean): Record<string, string> {
    const out: Record<string, string> = {};
    const change = new SizeChange();
    for (const key of this.keys()) {
      let serialized: string | undefined;
      if (this.values.has(key)) {
        serialized = serialize(key, this.values.get(key));
        if (bounded) change.add(key, this.growth(key, serialized));
      } else {
        serialized = this.baseline[key];
      }
      if (serialized !== undefined) out[key] = serialized;
    }
    if (bounded) {
      for (const key of this.removed) change.add(key, -entryBytes(key, this.baseline[key]));
      this.assertCommitFits(change);
    }
    return out;
  }

  /**
   * The changed keys since the baseline, or `undefined` when nothing changed.
   * Throws `SessionTooLargeException` when the data grew past the bound.
   */
  delta(): { set: Record<string, string>; unset: string[] } | undefined {
    let set: Record<string, string> | undefined;
    const unset = [...this.removed];
    const change = new SizeChange();
    for (const key of unset) change.add(key, -entryBytes(key, this.baseline[key]));
    for (const [key, value] of this.values) {
      const serialized = serialize(key, value);
      if (serialized === undefined) {
        // `undefined` (or a function) has no JSON form: setting it means removing the key.
        if (Object.hasOwn(this.baseline, key)) unset.push(key);
      } else if (serialized !== this.baseline[key]) {
        (set ??= {})[key] = serialized;
      }
      change.add(key, this.growth(key, serialized));
    }
    if (!set && unset.length === 0) return undefined;
    this.assertCommitFits(change);
    return { set: set ?? {}, unset };
  }

  /** Makes the current state the new baseline (after a successful commit). */
  markCommitted(): void {
    this.baseline = this.serializeAll(false);
    this.removed = EMPTY_SET;
    this.resetSizes();
  }

  /**
   * Same outcome as `markCommitted()` after writing `delta` (what `delta()`
   * answered), without serializing every value again: the keys it sets and
   * unsets are the only ones whose stored form changed.
   */
  markDeltaCommitted(delta: { set: Record<string, string>; unset: string[] } | undefined): void {
    this.removed = EMPTY_SET;
    this.resetSizes();
    if (!delta) return;
    for (const key of Object.keys(delta.set)) this.baseline[key] = delta.set[key];
    for (const key of delta.unset) delete this.baseline[key];
  }

  /** Forgets everything (log-in starts clean, except the keys carried over). */
  reset(keep: readonly string[] = []): void {
    const carried: Record<string, string> = {};
    // Unbounded: what is carried is measured below, and the commit checks the result.
    const snapshot = this.serializeAll(false);
    for (const key of keep) if (Object.hasOwn(snapshot, key)) carried[key] = snapshot[key];
    this.values = EMPTY_MAP;
    this.removed = EMPTY_SET;
    this.baseline = {};
    this.resetSizes();
    let size = 0;
    for (const [key, serialized] of Object.entries(carried)) {
      const value: unknown = JSON.parse(serialized);
      this.writableValues().set(key, value);
      // Measured as it will be written: a stored form need not be JSON.stringify's own.
      const canonical = serialize(key, value);
      const bytes = canonical === undefined ? 0 : entryBytes(key, canonical);
      this.writableSizes().set(key, bytes);
      size += bytes;
    }
    this.knownSize = size;
  }
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** `__proto__`, `constructor` and `prototype` are never session keys (prototype pollution). */
export function isForbiddenKey(key: string): boolean {
  return FORBIDDEN_KEYS.has(key);
}

/** JSON form of a value; a clear error for values JSON cannot hold (cycles, BigInt). */
export function serialize(key: string, value: unknown): string | undefined {
  let serialized: string | undefined;
  try {
    serialized = JSON.stringify(value);
  } catch (error) {
    throw new TypeError(
      `Session value for key '${key}' cannot be stored: it is not JSON-serializable (${(error as Error).message})`,
      { cause: error },
    );
  }
  // JSON.stringify answers undefined for a function or a symbol: the key would vanish at commit.
  if (serialized === undefined && value !== undefined) {
    throw new TypeError(
      `Session value for key '${key}' cannot be stored: a ${typeof value} has no JSON form`,
    );
  }
  return serialized;
}

function parseOrUndefined(serialized: string): unknown {
  try {
    return JSON.parse(serialized);
  } catch {
    return undefined; // a corrupt value reads as absent rather than failing the request
  }
}
