/**
 * Session data as top-level keys, kept in serialized form until read, with
 * enough bookkeeping to write back only what changed (DESIGN rule 6).
 *
 * A value can only change if the app got hold of it, so only keys that were
 * read or written are re-serialized at commit; a deep mutation
 * (`session.get('cart').push(x)`) shows up as a different serialized form.
 */
// Never written to: every write goes through writableValues()/writableRemoved().
const EMPTY_MAP: Map<string, unknown> = new Map();
const EMPTY_SET: Set<string> = new Set();

export class ChangeTracker {
  /** Serialized values as loaded (or as last committed). */
  private baseline: Record<string, string>;
  /** Parsed values handed to the app, by key. Shared empty instances until first use: most requests never write. */
  private values: Map<string, unknown> = EMPTY_MAP;
  /** Keys removed by the app. */
  private removed: Set<string> = EMPTY_SET;

  constructor(serialized: Record<string, string> = {}) {
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

  set(key: string, value: unknown): void {
    // JSON has no `undefined`: setting it is removing the key (and must not make a session non-empty).
    if (value === undefined) return this.unset(key);
    this.removed.delete(key);
    this.writableValues().set(key, value);
  }

  unset(key: string): void {
    this.values.delete(key);
    if (Object.hasOwn(this.baseline, key)) this.writableRemoved().add(key);
  }

  private writableValues(): Map<string, unknown> {
    if (this.values === EMPTY_MAP) this.values = new Map();
    return this.values;
  }

  private writableRemoved(): Set<string> {
    if (this.removed === EMPTY_SET) this.removed = new Set();
    return this.removed;
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

  /** Every current key in serialized form (for a full write). */
  snapshot(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const key of this.keys()) {
      const serialized = this.values.has(key)
        ? serialize(key, this.values.get(key))
        : this.baseline[key];
      if (serialized !== undefined) out[key] = serialized;
    }
    return out;
  }

  /** The changed keys since the baseline, or `undefined` when nothing changed. */
  delta(): { set: Record<string, string>; unset: string[] } | undefined {
    let set: Record<string, string> | undefined;
    const unset = [...this.removed];
    for (const [key, value] of this.values) {
      const serialized = serialize(key, value);
      if (serialized === undefined) {
        // `undefined` (or a function) has no JSON form: setting it means removing the key.
        if (Object.hasOwn(this.baseline, key)) unset.push(key);
      } else if (serialized !== this.baseline[key]) {
        (set ??= {})[key] = serialized;
      }
    }
    if (!set && unset.length === 0) return undefined;
    return { set: set ?? {}, unset };
  }

  /** Makes the current state the new baseline (after a successful commit). */
  markCommitted(): void {
    this.baseline = this.snapshot();
    this.removed = EMPTY_SET;
  }

  /**
   * Same outcome as `markCommitted()` after writing `delta` (what `delta()`
   * answered), without serializing every value again: the keys it sets and
   * unsets are the only ones whose stored form changed.
   */
  markDeltaCommitted(delta: { set: Record<string, string>; unset: string[] } | undefined): void {
    this.removed = EMPTY_SET;
    if (!delta) return;
    for (const key of Object.keys(delta.set)) this.baseline[key] = delta.set[key];
    for (const key of delta.unset) delete this.baseline[key];
  }

  /** Forgets everything (log-in starts clean, except the keys carried over). */
  reset(keep: readonly string[] = []): void {
    const carried: Record<string, string> = {};
    const snapshot = this.snapshot();
    for (const key of keep) if (Object.hasOwn(snapshot, key)) carried[key] = snapshot[key];
    this.values = EMPTY_MAP;
    this.removed = EMPTY_SET;
    this.baseline = {};
    for (const [key, serialized] of Object.entries(carried)) {
      this.writableValues().set(key, JSON.parse(serialized));
    }
  }
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** `__proto__`, `constructor` and `prototype` are never session keys (prototype pollution). */
export function isForbiddenKey(key: string): boolean {
  return FORBIDDEN_KEYS.has(key);
}

/** JSON form of a value; a clear error for values JSON cannot hold (cycles, BigInt). */
export function serialize(key: string, value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch (error) {
    throw new TypeError(
      `Session value for key '${key}' cannot be stored: it is not JSON-serializable (${(error as Error).message})`,
      { cause: error },
    );
  }
}

function parseOrUndefined(serialized: string): unknown {
  try {
    return JSON.parse(serialized);
  } catch {
    return undefined; // a corrupt value reads as absent rather than failing the request
  }
}
