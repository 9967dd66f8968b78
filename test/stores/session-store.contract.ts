import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import type { SessionRecord } from '../../lib/stores/session-record.js';
import type { SessionStore } from '../../lib/stores/session-store.interface.js';

/** How a store under test is made and torn down. */
export interface StoreHarness {
  store: SessionStore;
  /** Called once after the suite; closes what the harness opened. */
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const key = () => randomBytes(32).toString('base64url');
const user = () => `user-${randomBytes(6).toString('hex')}`;
const HOUR = 3_600_000;

function record(overrides: Partial<SessionRecord> = {}): SessionRecord {
  const now = Date.now();
  return {
    handle: randomBytes(16).toString('base64url'),
    createdAt: now,
    lastSeenAt: now,
    data: { views: '1', cart: '["apple"]' },
    ...overrides,
  };
}

/**
 * The behaviour every SessionStore must have. Each store's spec calls this
 * with a harness; the memory store and the Redis store (standalone, Cluster,
 * node-redis) all pass the same assertions.
 */
export function runSessionStoreContract(name: string, makeHarness: () => Promise<StoreHarness>) {
  describe(`SessionStore contract: ${name}`, () => {
    let harness: StoreHarness;
    let store: SessionStore;

    beforeAll(async () => {
      harness = await makeHarness();
      store = harness.store;
    });
    afterAll(async () => {
      await harness?.close();
    });

    it('answers null for an unknown key', async () => {
      expect(await store.get(key())).toBeNull();
    });

    it('round-trips a whole record', async () => {
      const k = key();
      const r = record({ userId: user(), roles: ['user', 'admin'], authenticatedAt: 123 });
      await store.set(k, r, HOUR);
      expect(await store.get(k)).toEqual(r);
    });

    it('never shares objects with the caller', async () => {
      const k = key();
      const r = record({ roles: ['user'] });
      await store.set(k, r, HOUR);
      r.data.views = '99';
      r.roles!.push('admin');
      const first = (await store.get(k))!;
      first.data.views = '42';
      expect((await store.get(k))!.data.views).toBe('1');
      expect((await store.get(k))!.roles).toEqual(['user']);
    });

    it('keeps values exactly, including unicode and empty strings', async () => {
      const k = key();
      const data = {
        emoji: '"😀 ✓"',
        empty: '""',
        nested: '{"a":[1,{"b":null}]}',
        odd: '"a:b\\r\\n*"',
      };
      await store.set(k, record({ data }), HOUR);
      expect((await store.get(k))!.data).toEqual(data);
    });

    it('update writes only the changed keys and keeps the others', async () => {
      const k = key();
      await store.set(k, record(), HOUR);
      expect(await store.update(k, { set: { views: '2', theme: '"dark"' } }, HOUR)).toBe(true);
      expect((await store.get(k))!.data).toEqual({
        views: '2',
        cart: '["apple"]',
        theme: '"dark"',
      });
      expect(await store.update(k, { unset: ['cart'], lastSeenAt: 777 }, HOUR)).toBe(true);
      const after = (await store.get(k))!;
      expect(after.data).toEqual({ views: '2', theme: '"dark"' });
      expect(after.lastSeenAt).toBe(777);
    });

    it('handles sessions with hundreds of keys (writes larger than one Redis call takes)', async () => {
      const k = key();
      const many = (n: number, value: (i: number) => string) =>
        Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, value(i)]));
      const r = record({ userId: user(), data: many(450, (i) => String(i)) });
      await store.set(k, r, HOUR);
      expect(await store.get(k)).toEqual(r);
      const changed = many(300, (i) => `"v${i}"`);
      const unset = Array.from({ length: 120 }, (_, i) => `k${330 + i}`);
      expect(await store.update(k, { set: changed, unset, lastSeenAt: 4242 }, HOUR)).toBe(true);
      const after = (await store.get(k))!;
      expect(after.lastSeenAt).toBe(4242);
      expect(after.data).toEqual({ ...changed, ...many(330, (i) => String(i)), ...changed });
      expect(Object.keys(after.data)).toHaveLength(330);
      // without lastSeenAt, a large patch still lands whole
      expect(await store.update(k, { set: many(250, () => '0') }, HOUR)).toBe(true);
      const last = (await store.get(k))!;
      expect(last.lastSeenAt).toBe(4242);
      expect(Object.keys(last.data)).toHaveLength(330);
      expect(Object.values(last.data).filter((v) => v === '0')).toHaveLength(250);
    });

    it('merges concurrent updates of different keys', async () => {
      const k = key();
      await store.set(k, record({ data: {} }), HOUR);
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.update(k, { set: { [`k${i}`]: `${i}` } }, HOUR)),
      );
      const data = (await store.get(k))!.data;
      expect(Object.keys(data).sort()).toEqual(
        Array.from({ length: 20 }, (_, i) => `k${i}`).sort(),
      );
    });

    it('update never creates a record', async () => {
      const k = key();
      expect(await store.update(k, { set: { views: '1' } }, HOUR)).toBe(false);
      expect(await store.get(k)).toBeNull();
    });

    it('update refreshes the TTL', async () => {
      const k = key();
      await store.set(k, record(), 300);
      await sleep(150);
      expect(await store.update(k, { lastSeenAt: Date.now() }, 1000)).toBe(true);
      await sleep(300);
      expect(await store.get(k)).not.toBeNull();
    });

    it('forgets a record when its TTL runs out', async () => {
      const k = key();
      await store.set(k, record(), 100);
      expect(await store.get(k)).not.toBeNull();
      await sleep(250);
      expect(await store.get(k)).toBeNull();
      expect(await store.update(k, { set: { a: '1' } }, HOUR)).toBe(false);
    });

    it('destroy deletes the record and its index entry; a missing key is fine', async () => {
      const k = key();
      const u = user();
      await store.set(k, record({ userId: u }), HOUR);
      await store.destroy(k);
      expect(await store.get(k)).toBeNull();
      expect(await store.listForUser(u)).toEqual([]);
      await expect(store.destroy(key())).resolves.toBeUndefined();
    });

    it('rotate (log-in) moves the session: new key readable, old key dead, index follows', async () => {
      const oldKey = key();
      const newKey = key();
      const u = user();
      const r = record({ userId: u });
      await store.set(oldKey, r, HOUR);
      expect(
        await store.rotate(oldKey, newKey, { ...r, roles: ['editor'] }, HOUR, { forwardMs: 0 }),
      ).toEqual({ status: 'rotated' });
      expect(await store.get(oldKey)).toBeNull();
      expect((await store.get(newKey))!.roles).toEqual(['editor']);
      const listed = await store.listForUser(u);
      expect(listed.map((e) => e.key)).toEqual([newKey]);
    });

    it('rotate (log-in) from an anonymous or missing session into a user session indexes it', async () => {
      const oldKey = key();
      const newKey = key();
      const u = user();
      await store.set(oldKey, record(), HOUR);
      await store.rotate(oldKey, newKey, record({ userId: u }), HOUR, { forwardMs: 0 });
      const fromNothing = key();
      expect(await store.rotate(key(), fromNothing, record({ userId: u }), HOUR, { forwardMs: 0 }));
      expect((await store.listForUser(u)).map((e) => e.key).sort()).toEqual(
        [newKey, fromNothing].sort(),
      );
    });

    describe('conditional rotate (logout must stick)', () => {
      /** A live user session and the options that rotate exactly it. */
      async function liveSession(overrides: Partial<SessionRecord> = {}) {
        const k = key();
        const r = record({ userId: user(), roles: ['user'], ...overrides });
        await store.set(k, r, HOUR);
        return { k, r, move: { expectHandle: r.handle, forwardMs: 60_000 } };
      }

      it('leaves a forward under the old key: no user, no data, out of the index', async () => {
        const { k, r, move } = await liveSession();
        const next = key();
        const outcome = await store.rotate(
          k,
          next,
          { ...r, roles: ['user', 'editor'] },
          HOUR,
          move,
        );
        expect(outcome).toEqual({ status: 'rotated' });
        const forward = (await store.get(k))!;
        expect(forward.movedTo).toBe(next);
        expect(forward.handle).toBe(r.handle);
        expect(forward.userId).toBeUndefined();
        expect(forward.data).toEqual({});
        expect(forward.readableUntil).toBeUndefined();
        expect((await store.get(next))!.roles).toEqual(['user', 'editor']);
        expect((await store.listForUser(r.userId!)).map((e) => e.key)).toEqual([next]);
      });

      it('a renewal forward says until when it serves loads', async () => {
        const { k, r, move } = await liveSession();
        const until = Date.now() + 5_000;
        await store.rotate(k, key(), r, HOUR, { ...move, readableUntil: until });
        expect((await store.get(k))!.readableUntil).toBe(until);
      });

      it('writes nothing when the old session was destroyed, revoked, expired or is another one', async () => {
        const destroyed = await liveSession();
        await store.destroy(destroyed.k);
        const revoked = await liveSession();
        await store.revoke(revoked.k, 1, HOUR);
        const expired = key();
        const short = record({ userId: user() });
        await store.set(expired, short, 50);
        const other = await liveSession();
        await sleep(100);
        const cases: Array<[string, SessionRecord, string]> = [
          [destroyed.k, destroyed.r, destroyed.r.handle],
          [revoked.k, revoked.r, revoked.r.handle],
          [expired, short, short.handle],
          [other.k, other.r, 'not-its-handle'],
          [key(), record({ userId: user() }), 'never-existed'],
        ];
        for (const [oldKey, r, handle] of cases) {
          const next = key();
          const outcome = await store.rotate(oldKey, next, r, HOUR, {
            expectHandle: handle,
            forwardMs: 60_000,
          });
          expect(outcome).toEqual({ status: 'gone' });
          expect(await store.get(next)).toBeNull();
          if (r.userId) {
            expect((await store.listForUser(r.userId)).map((e) => e.key)).not.toContain(next);
          }
        }
        expect((await store.get(revoked.k))!.revokedAt).toBe(1);
        expect(await store.get(other.k)).toEqual(other.r);
      });

      it('of two rotations of one session exactly one wins; the other is told where it went', async () => {
        const { k, r, move } = await liveSession();
        const [a, b] = [key(), key()];
        const outcomes = await Promise.all([
          store.rotate(k, a, r, HOUR, move),
          store.rotate(k, b, r, HOUR, move),
        ]);
        const winner = outcomes[0].status === 'rotated' ? a : b;
        const loser = winner === a ? b : a;
        expect(outcomes.map((o) => o.status).sort()).toEqual(['moved', 'rotated']);
        expect(outcomes.find((o) => o.status === 'moved')).toEqual({ status: 'moved', to: winner });
        expect(await store.get(loser)).toBeNull();
        expect((await store.listForUser(r.userId!)).map((e) => e.key)).toEqual([winner]);
      });

      it('update, destroy and revoke of the old key reach the session it moved into', async () => {
        const first = await liveSession();
        const next = key();
        await store.rotate(first.k, next, first.r, HOUR, first.move);
        expect(await store.update(first.k, { set: { late: '"write"' } }, HOUR)).toBe(true);
        expect((await store.get(next))!.data.late).toBe('"write"');
        expect(await store.revoke(first.k, 5, HOUR)).toBe(true);
        expect((await store.get(next))!.revokedAt).toBe(5);
        expect(await store.update(first.k, { set: { x: '1' } }, HOUR)).toBe(false);

        // Two hops: a logout with the oldest ID ends the newest session.
        const second = await liveSession();
        const [mid, last] = [key(), key()];
        await store.rotate(second.k, mid, second.r, HOUR, second.move);
        await store.rotate(mid, last, second.r, HOUR, second.move);
        await store.destroy(second.k);
        expect(await store.get(last)).toBeNull();
        expect(await store.listForUser(second.r.userId!)).toEqual([]);
      });

      it('a forward is never extended: it dies after its own TTL, whatever is written through it', async () => {
        const { k, r } = await liveSession();
        const next = key();
        await store.rotate(k, next, r, HOUR, { expectHandle: r.handle, forwardMs: 300 });
        for (let i = 0; i < 2; i++) {
          expect(await store.update(k, { lastSeenAt: Date.now() }, HOUR)).toBe(true);
          await sleep(100);
        }
        await sleep(250);
        expect(await store.get(k)).toBeNull();
        expect(await store.get(next)).not.toBeNull();
      });

      it('a rotation racing revokeAllForUser never leaves a live session behind', async () => {
        if (!store.revokeAllForUser) return; // optional method
        for (let i = 0; i < 20; i++) {
          const { k, r, move } = await liveSession();
          const next = key();
          const [, revoked] = await Promise.all([
            store.rotate(k, next, r, HOUR, move),
            store.revokeAllForUser(r.userId!, 9, HOUR),
          ]);
          expect(revoked).toBe(1);
          for (const candidate of [k, next]) {
            const left = await store.get(candidate);
            expect(
              left === null || left.revokedAt !== undefined || left.movedTo !== undefined,
            ).toBe(true);
          }
          expect(await store.listForUser(r.userId!)).toEqual([]);
        }
      });

      it('caps live sessions per user at 100 by default; a rotation never counts against the cap', async () => {
        const u = user();
        const keys: string[] = [];
        const records: SessionRecord[] = [];
        for (let i = 0; i < 100; i++) {
          keys.push(key());
          records.push(record({ userId: u }));
          await store.set(keys[i], records[i], HOUR);
        }
        const revokedAmong = async (candidates: string[]) =>
          (await Promise.all(candidates.map((k) => store.get(k)))).filter(
            (r) => r?.revokedAt !== undefined,
          ).length;
        // Rotating one of them revokes none.
        const rotated = key();
        await store.rotate(keys[99], rotated, records[99], HOUR, {
          expectHandle: records[99].handle,
          forwardMs: 60_000,
        });
        const survivors = [...keys.slice(0, 99), rotated];
        expect(await store.listForUser(u)).toHaveLength(100);
        expect(await revokedAmong(survivors)).toBe(0);
        // A new log-in does: one of the older sessions is revoked (which one,
        // when they were indexed within the same millisecond, is the store's call).
        const newest = key();
        await store.set(newest, record({ userId: u }), HOUR);
        const listed = (await store.listForUser(u)).map((e) => e.key);
        expect(listed).toHaveLength(100);
        expect(listed).toContain(newest);
        expect(await revokedAmong(survivors)).toBe(1);
      });
    });

    it('lists the live sessions of one user only', async () => {
      const u = user();
      const other = user();
      const keys = [key(), key(), key()];
      for (const k of keys) await store.set(k, record({ userId: u }), HOUR);
      await store.set(key(), record({ userId: other }), HOUR);
      await store.set(key(), record(), HOUR);
      const listed = await store.listForUser(u);
      expect(listed.map((e) => e.key).sort()).toEqual([...keys].sort());
      for (const entry of listed) expect(entry.record.userId).toBe(u);
      expect(await store.listForUser(user())).toEqual([]);
    });

    it('leaves expired sessions out of a listing', async () => {
      const u = user();
      const live = key();
      await store.set(live, record({ userId: u }), HOUR);
      await store.set(key(), record({ userId: u }), 80);
      await sleep(200);
      expect((await store.listForUser(u)).map((e) => e.key)).toEqual([live]);
    });

    it('revoke leaves a tombstone without data, out of the listing, not updatable', async () => {
      const u = user();
      const k = key();
      await store.set(k, record({ userId: u }), HOUR);
      expect(await store.revoke(k, 555, HOUR)).toBe(true);
      const tomb = (await store.get(k))!;
      expect(tomb.revokedAt).toBe(555);
      expect(tomb.userId).toBeUndefined();
      expect(tomb.data).toEqual({});
      expect(await store.listForUser(u)).toEqual([]);
      expect(await store.update(k, { set: { a: '1' } }, HOUR)).toBe(false);
      expect(await store.revoke(k, 556, HOUR)).toBe(false);
      expect(await store.revoke(key(), 556, HOUR)).toBe(false);
    });

    it('a tombstone expires after its own TTL', async () => {
      const k = key();
      await store.set(k, record(), HOUR);
      await store.revoke(k, Date.now(), 100);
      await sleep(250);
      expect(await store.get(k)).toBeNull();
    });

    it('revoke and destroy leave the other sessions of the user listed', async () => {
      const u = user();
      const [a, b, c] = [key(), key(), key()];
      for (const k of [a, b, c]) await store.set(k, record({ userId: u }), HOUR);
      await store.revoke(a, 1, HOUR);
      await store.destroy(b);
      expect((await store.listForUser(u)).map((e) => e.key)).toEqual([c]);
    });

    it('a tombstone keeps handle and timestamps only', async () => {
      const k = key();
      const r = record({ userId: user(), roles: ['admin'], authenticatedAt: 5 });
      await store.set(k, r, HOUR);
      await store.revoke(k, 9, HOUR);
      expect(await store.get(k)).toEqual({
        handle: r.handle,
        createdAt: r.createdAt,
        lastSeenAt: r.lastSeenAt,
        revokedAt: 9,
        data: {},
      });
    });

    it('update of lastSeenAt alone keeps the data', async () => {
      const k = key();
      const r = record({ userId: user() });
      await store.set(k, r, HOUR);
      expect(await store.update(k, { lastSeenAt: r.lastSeenAt + 5 }, HOUR)).toBe(true);
      expect(await store.get(k)).toEqual({ ...r, lastSeenAt: r.lastSeenAt + 5 });
    });

    it('data key names that look like metadata stay data', async () => {
      const k = key();
      const data = { h: '"x"', u: '"y"', userId: '"z"', 'd:nested': '1', '': '2' };
      const r = record({ data });
      await store.set(k, r, HOUR);
      await store.update(k, { set: { r: '"roles?"' }, unset: ['h'] }, HOUR);
      const got = (await store.get(k))!;
      expect(got.data).toEqual({
        u: '"y"',
        userId: '"z"',
        'd:nested': '1',
        '': '2',
        r: '"roles?"',
      });
      expect(got.handle).toBe(r.handle);
      expect(got.userId).toBeUndefined();
      expect(got.roles).toBeUndefined();
    });

    it('revokeAllForUser (when the store has it) revokes all but one, and only that user', async () => {
      if (!store.revokeAllForUser) return; // optional method
      const u = user();
      const other = user();
      const keys = [key(), key(), key()];
      for (const k of keys) await store.set(k, record({ userId: u }), HOUR);
      const foreign = key();
      await store.set(foreign, record({ userId: other }), HOUR);
      expect(await store.revokeAllForUser(u, 777, HOUR, keys[0])).toBe(2);
      expect((await store.listForUser(u)).map((e) => e.key)).toEqual([keys[0]]);
      expect((await store.get(keys[1]))!.revokedAt).toBe(777);
      expect((await store.get(foreign))!.revokedAt).toBeUndefined();
      expect(await store.revokeAllForUser(u, 778, HOUR)).toBe(1);
      expect(await store.listForUser(u)).toEqual([]);
      expect(await store.revokeAllForUser(user(), 779, HOUR)).toBe(0);
    });

    it('re-setting a user session as an anonymous record takes it out of the listing', async () => {
      const k = key();
      const u = user();
      await store.set(k, record({ userId: u }), HOUR);
      await store.set(k, record(), HOUR);
      expect(await store.listForUser(u)).toEqual([]);
    });

    it('re-setting a key under another user moves the index entry', async () => {
      const k = key();
      const a = user();
      const b = user();
      await store.set(k, record({ userId: a }), HOUR);
      await store.set(k, record({ userId: b }), HOUR);
      expect(await store.listForUser(a)).toEqual([]);
      expect((await store.listForUser(b)).map((e) => e.key)).toEqual([k]);
    });
  });
}
