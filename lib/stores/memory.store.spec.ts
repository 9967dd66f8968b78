import { describe, expect, it } from '@jest/globals';
import { runSessionStoreContract } from '../testing/index.js';
import { MemoryStore } from './memory.store.js';
import type { SessionRecord } from './session-record.js';

runSessionStoreContract({
  name: 'MemoryStore',
  createStore: () => new MemoryStore(),
  describe,
  it,
});

const rec = (): SessionRecord => ({ handle: 'h', createdAt: 1, lastSeenAt: 1, data: {} });

describe('MemoryStore bounds', () => {
  it('never holds more than maxSessions, evicting the session closest to expiry', async () => {
    const store = new MemoryStore({ maxSessions: 3 });
    await store.set('long', rec(), 10_000);
    await store.set('soonest', rec(), 1_000);
    await store.set('middle', rec(), 5_000);
    await store.set('new', rec(), 8_000);
    expect(store.size).toBe(3);
    expect(await store.get('soonest')).toBeNull();
    expect(await store.get('long')).not.toBeNull();
    // a refreshed TTL counts: 'middle' now outlives 'new'
    await store.update('middle', {}, 20_000);
    await store.set('newest', rec(), 9_000);
    expect(await store.get('new')).toBeNull();
    expect(await store.get('middle')).not.toBeNull();
    await store.close();
  });

  it('sweeps expired sessions and stops its timer on close', async () => {
    let now = 1_000;
    const store = new MemoryStore({ now: () => now });
    await store.set('a', rec(), 100);
    await store.set('b', rec(), 1_000);
    now += 500;
    store.sweep();
    expect(store.size).toBe(1);
    await store.close();
    expect(store.size).toBe(0);
  });

  it('rejects a bad maxSessions with a clear error', () => {
    expect(() => new MemoryStore({ maxSessions: 0 })).toThrow(
      /maxSessions must be a positive integer/,
    );
  });
});

const HOUR = 3_600_000;
const session = (overrides: Partial<SessionRecord> = {}): SessionRecord => ({
  handle: `h-${Math.random().toString(36).slice(2)}`,
  createdAt: Date.now(),
  lastSeenAt: Date.now(),
  data: { views: '1' },
  ...overrides,
});

/**
 * Issue 4 item 6: at `maxSessions`, anonymous sessions are evicted first; a
 * logged-in session goes only when no anonymous one is left. Otherwise a
 * flood of cookie-less visitors (each GET / makes an anonymous session) logs
 * every user out.
 */
describe('MemoryStore eviction: anonymous sessions first', () => {
  it('50 anonymous sessions at maxSessions 10 never evict the logged-in one, even when it expires soonest', async () => {
    const store = new MemoryStore({ maxSessions: 10 });
    try {
      // the user's session is the one closest to expiry: first to go by TTL alone
      await store.set('alice', session({ userId: 'alice', roles: ['user'] }), 1_000);
      // each later one expires later (distinct TTLs: no tie for the heap to break)
      for (let i = 0; i < 50; i++) await store.set(`anon-${i}`, session(), HOUR + i * 1_000);
      expect(store.size).toBe(10);
      expect((await store.get('alice'))?.userId).toBe('alice');
      expect((await store.listForUser('alice')).map((e) => e.key)).toEqual(['alice']);
      // the anonymous ones were evicted instead: the 9 written last are left
      expect(await store.get('anon-40')).toBeNull();
      for (let i = 41; i < 50; i++) expect(await store.get(`anon-${i}`)).not.toBeNull();
    } finally {
      await store.close();
    }
  });

  it('a session that became logged in (rotated into a user, as a log-in does) is kept too', async () => {
    const store = new MemoryStore({ maxSessions: 10 });
    try {
      await store.set('pre-login', session(), 1_000);
      await store.rotate('pre-login', 'bob', session({ userId: 'bob' }), 1_000, {
        forwardMs: 0,
      });
      for (let i = 0; i < 50; i++) await store.set(`anon-${i}`, session(), HOUR);
      expect(store.size).toBeLessThanOrEqual(10);
      expect((await store.get('bob'))?.userId).toBe('bob');
      expect((await store.listForUser('bob')).map((e) => e.key)).toEqual(['bob']);
    } finally {
      await store.close();
    }
  });

  it('among anonymous sessions, the one closest to expiry goes first', async () => {
    const store = new MemoryStore({ maxSessions: 4 });
    try {
      await store.set('user-soon', session({ userId: 'u1' }), 1_000);
      await store.set('anon-late', session(), 9_000);
      await store.set('anon-soon', session(), 2_000);
      await store.set('user-later', session({ userId: 'u2' }), 3_000);
      await store.set('anon-new', session(), 8_000);
      expect(store.size).toBe(4);
      expect(await store.get('anon-soon')).toBeNull();
      for (const k of ['user-soon', 'anon-late', 'user-later', 'anon-new'])
        expect({ k, kept: (await store.get(k)) !== null }).toEqual({ k, kept: true });
    } finally {
      await store.close();
    }
  });

  it('with only logged-in sessions at the cap a new one still fits: the one closest to expiry goes', async () => {
    const store = new MemoryStore({ maxSessions: 3 });
    try {
      await store.set('u1', session({ userId: 'u1' }), 5_000);
      await store.set('u2', session({ userId: 'u2' }), 1_000);
      await store.set('u3', session({ userId: 'u3' }), 3_000);
      await store.set('u4', session({ userId: 'u4' }), 4_000);
      expect(store.size).toBe(3);
      expect(await store.get('u2')).toBeNull();
      expect(await store.listForUser('u2')).toEqual([]);
      for (const u of ['u1', 'u3', 'u4']) {
        expect((await store.get(u))?.userId).toBe(u);
        expect((await store.listForUser(u)).map((e) => e.key)).toEqual([u]);
      }
    } finally {
      await store.close();
    }
  });
});

/**
 * Issue 4 item 9: sessions per user are bounded by default (100), as on
 * Redis: a user's sessions beyond it revoke that user's oldest (tombstones,
 * so they are told `revoked`).
 */
describe('MemoryStore expiry claims and stats', () => {
  it('claims an entry once per TTL it was given, drops what is past its TTL, and counts only live entries', async () => {
    let now = 1_000;
    const store = new MemoryStore({ now: () => now });
    await store.set('due', rec(), 500);
    await store.set('later', rec(), 5_000);
    await store.set('gone', rec(), 100);
    await store.set('tomb', rec(), 500);
    await store.revoke('tomb', now, 500);
    now += 200; // 'gone' is past its TTL
    expect((await store.claimExpired(now + 1_000, 10)).map((e) => e.key)).toEqual(['due']);
    expect(store.size).toBe(3); // 'gone' deleted on the way
    expect(await store.claimExpired(now + 1_000, 10)).toEqual([]);
    // a write sets its TTL again: claimable again at the new end, not before
    await store.update('due', {}, 2_000);
    expect(await store.claimExpired(now + 1_000, 10)).toEqual([]);
    const keys = (await store.claimExpired(now + 10_000, 10)).map((e) => e.key);
    expect(keys.sort()).toEqual(['due', 'later']);
    expect((await store.stats()).activeSessions).toBe(2); // the tombstone is not counted
    await store.close();
  });

  it('estimates memory from what the records hold', async () => {
    const store = new MemoryStore();
    await store.set('small', rec(), HOUR);
    const small = (await store.stats()).memoryBytes!;
    expect(small).toBeGreaterThan(0);
    await store.set('big', { ...rec(), data: { blob: 'x'.repeat(10_000) } }, HOUR);
    expect((await store.stats()).memoryBytes! - small).toBeGreaterThan(20_000);
    await store.close();
  });
});

describe('MemoryStore maxSessionsPerUser', () => {
  it('holds at most 100 live sessions per user by default; the oldest are revoked', async () => {
    const store = new MemoryStore();
    try {
      const keys = Array.from({ length: 150 }, (_, i) => `s${i}`);
      const start = Date.now() - 150_000;
      for (const [i, k] of keys.entries()) {
        await store.set(
          k,
          session({ userId: 'many', createdAt: start + i * 1_000, lastSeenAt: start + i * 1_000 }),
          HOUR,
        );
      }
      await store.set('other', session({ userId: 'someone-else' }), HOUR);
      const listed = (await store.listForUser('many')).map((e) => e.key).sort();
      expect(listed).toHaveLength(100);
      expect(listed).toEqual(keys.slice(50).sort());
      for (const k of keys.slice(0, 50)) {
        expect({ k, revokedAt: (await store.get(k))?.revokedAt }).toEqual({
          k,
          revokedAt: expect.any(Number),
        });
      }
      for (const k of keys.slice(50)) expect((await store.get(k))?.revokedAt).toBeUndefined();
      expect(await store.listForUser('someone-else')).toHaveLength(1);
    } finally {
      await store.close();
    }
  });

  it('takes a smaller cap, and anonymous sessions never count', async () => {
    const store = new MemoryStore({ maxSessionsPerUser: 2 });
    try {
      await store.set('a', session({ userId: 'u' }), HOUR);
      await store.set('b', session({ userId: 'u' }), HOUR);
      for (let i = 0; i < 5; i++) await store.set(`anon-${i}`, session(), HOUR);
      expect((await store.listForUser('u')).map((e) => e.key).sort()).toEqual(['a', 'b']);
      await store.set('c', session({ userId: 'u' }), HOUR);
      expect((await store.listForUser('u')).map((e) => e.key).sort()).toEqual(['b', 'c']);
      expect((await store.get('a'))?.revokedAt).toEqual(expect.any(Number));
      // re-writing a session kept does not revoke anything
      await store.set('c', session({ userId: 'u' }), HOUR);
      expect((await store.listForUser('u')).map((e) => e.key).sort()).toEqual(['b', 'c']);
    } finally {
      await store.close();
    }
  });

  it('rejects a bad maxSessionsPerUser with a clear error', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => new MemoryStore({ maxSessionsPerUser: bad })).toThrow(
        /maxSessionsPerUser must be a positive integer/,
      );
    }
  });
});
