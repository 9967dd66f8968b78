interface HeapEntry {
  expiresAt: number;
  key: string;
}

/**
 * A binary min-heap of (expiry, key) with lazy deletion: an update pushes a
 * new entry and stale ones are skipped when popped (the owner says which
 * entries are still current). It lets the memory store evict the session
 * closest to expiry in O(log n) instead of scanning every session.
 */
export class ExpiryHeap {
  private entries: HeapEntry[] = [];

  get size(): number {
    return this.entries.length;
  }

  push(key: string, expiresAt: number): void {
    const entries = this.entries;
    entries.push({ key, expiresAt });
    let i = entries.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (entries[parent].expiresAt <= entries[i].expiresAt) break;
      [entries[parent], entries[i]] = [entries[i], entries[parent]];
      i = parent;
    }
  }

  /** Removes and returns the earliest entry for which `isCurrent` holds. */
  popCurrent(isCurrent: (key: string, expiresAt: number) => boolean): string | undefined {
    while (this.entries.length > 0) {
      const top = this.popTop();
      if (isCurrent(top.key, top.expiresAt)) return top.key;
    }
    return undefined;
  }

  /** Drops every entry that is no longer current (when stale entries pile up). */
  compact(isCurrent: (key: string, expiresAt: number) => boolean): void {
    const live = this.entries.filter((e) => isCurrent(e.key, e.expiresAt));
    this.entries = [];
    for (const e of live) this.push(e.key, e.expiresAt);
  }

  clear(): void {
    this.entries = [];
  }

  private popTop(): HeapEntry {
    const entries = this.entries;
    const top = entries[0];
    const last = entries.pop()!;
    if (entries.length > 0) {
      entries[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < entries.length && entries[left].expiresAt < entries[smallest].expiresAt) {
          smallest = left;
        }
        if (right < entries.length && entries[right].expiresAt < entries[smallest].expiresAt) {
          smallest = right;
        }
        if (smallest === i) break;
        [entries[smallest], entries[i]] = [entries[i], entries[smallest]];
        i = smallest;
      }
    }
    return top;
  }
}
