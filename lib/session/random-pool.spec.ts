import { describe, expect, it } from '@jest/globals';
import { RandomPool } from './random-pool.js';

describe('RandomPool', () => {
  it('hands out values of the asked size, never the same one twice, across many refills', () => {
    const pool = new RandomPool();
    const seen = new Set<string>();
    // 1,000 × 32 + 1,000 × 16 bytes: the 4 KB pool is refilled about 12 times.
    for (let i = 0; i < 2_000; i++) {
      const value = pool.base64url(i % 2 === 0 ? 32 : 16);
      expect(value).toMatch(i % 2 === 0 ? /^[A-Za-z0-9_-]{43}$/ : /^[A-Za-z0-9_-]{22}$/);
      seen.add(value);
    }
    expect(seen.size).toBe(2_000);
  });

  it('looks uniformly random: every base64url character about equally often', () => {
    const pool = new RandomPool();
    const counts = new Map<string, number>();
    let total = 0;
    for (let i = 0; i < 4_000; i++) {
      // the first 42 characters of a 32-byte value carry 6 random bits each
      for (const char of pool.base64url(32).slice(0, 42)) {
        counts.set(char, (counts.get(char) ?? 0) + 1);
        total++;
      }
    }
    expect(counts.size).toBe(64);
    const expected = total / 64; // 2,625; the standard deviation is about 51
    for (const count of counts.values()) {
      expect(Math.abs(count - expected)).toBeLessThan(expected * 0.15);
    }
  });

  it('two pools never hand out the same value', () => {
    const a = new RandomPool();
    const b = new RandomPool();
    const fromA = new Set(Array.from({ length: 300 }, () => a.base64url(32)));
    for (let i = 0; i < 300; i++) expect(fromA.has(b.base64url(32))).toBe(false);
  });

  it('refuses sizes it cannot serve', () => {
    const pool = new RandomPool();
    for (const size of [0, -1, 1.5, 4097, Number.NaN]) {
      expect(() => pool.base64url(size)).toThrow(RangeError);
    }
  });
});
