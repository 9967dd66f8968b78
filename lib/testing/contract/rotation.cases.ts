import assert from 'node:assert/strict';
import type { SessionRecord } from '../../stores/session-record.js';
import type { SessionStore } from '../../stores/session-store.interface.js';
import {
  assertSame,
  HOUR,
  key,
  record,
  sleep,
  user,
  type ContractCases,
} from './contract-fixtures.js';

/** A live user session in `store` and the rotate options that move exactly it. */
async function liveSession(store: SessionStore, overrides: Partial<SessionRecord> = {}) {
  const k = key();
  const r = record({ userId: user(), roles: ['user'], ...overrides });
  await store.set(k, r, HOUR);
  return { k, r, move: { expectHandle: r.handle, forwardMs: 60_000 } };
}

/**
 * `rotate`: a log-in moves whatever the old key held; any other rotation is
 * conditional, so that a logout, revocation or rival rotation that came
 * first is never undone ("logout must stick"); the per-user cap.
 */
export function rotationCases({ it, describe }: ContractCases): void {
  it('rotate (log-in) moves the session: new key readable, old key dead, index follows', async (store) => {
    const oldKey = key();
    const newKey = key();
    const u = user();
    const r = record({ userId: u });
    await store.set(oldKey, r, HOUR);
    assertSame(
      await store.rotate(oldKey, newKey, { ...r, roles: ['editor'] }, HOUR, { forwardMs: 0 }),
      { status: 'rotated' },
    );
    assert.equal(await store.get(oldKey), null);
    assertSame((await store.get(newKey))!.roles, ['editor']);
    const listed = await store.listForUser(u);
    assertSame(
      listed.map((e) => e.key),
      [newKey],
    );
  });

  it('rotate (log-in) from an anonymous or missing session into a user session indexes it', async (store) => {
    const oldKey = key();
    const newKey = key();
    const u = user();
    await store.set(oldKey, record(), HOUR);
    await store.rotate(oldKey, newKey, record({ userId: u }), HOUR, { forwardMs: 0 });
    const fromNothing = key();
    assertSame(
      await store.rotate(key(), fromNothing, record({ userId: u }), HOUR, { forwardMs: 0 }),
      { status: 'rotated' },
    );
    assertSame((await store.listForUser(u)).map((e) => e.key).sort(), [newKey, fromNothing].sort());
  });

  describe('conditional rotate (logout must stick)', () => {
    it('leaves a forward under the old key: no user, no data, out of the index', async (store) => {
      const { k, r, move } = await liveSession(store);
      const next = key();
      const outcome = await store.rotate(k, next, { ...r, roles: ['user', 'editor'] }, HOUR, move);
      assertSame(outcome, { status: 'rotated' });
      const forward = (await store.get(k))!;
      assert.equal(forward.movedTo, next);
      assert.equal(forward.handle, r.handle);
      assert.equal(forward.userId, undefined);
      assertSame(forward.data, {});
      assert.equal(forward.readableUntil, undefined);
      assertSame((await store.get(next))!.roles, ['user', 'editor']);
      assertSame(
        (await store.listForUser(r.userId!)).map((e) => e.key),
        [next],
      );
    });

    it('a renewal forward says until when it serves loads', async (store) => {
      const { k, r, move } = await liveSession(store);
      const until = Date.now() + 5_000;
      await store.rotate(k, key(), r, HOUR, { ...move, readableUntil: until });
      assert.equal((await store.get(k))!.readableUntil, until);
    });

    it('writes nothing when the old session was destroyed, revoked, expired or is another one', async (store) => {
      const destroyed = await liveSession(store);
      await store.destroy(destroyed.k);
      const revoked = await liveSession(store);
      await store.revoke(revoked.k, 1, HOUR);
      const expired = key();
      const short = record({ userId: user() });
      await store.set(expired, short, 50);
      const other = await liveSession(store);
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
        assertSame(outcome, { status: 'gone' }, `rotating ${handle}`);
        assert.equal(await store.get(next), null);
        if (r.userId) {
          const listed = (await store.listForUser(r.userId)).map((e) => e.key);
          assert.ok(!listed.includes(next), `the index must not list ${next}`);
        }
      }
      assert.equal((await store.get(revoked.k))!.revokedAt, 1);
      assertSame(await store.get(other.k), other.r);
    });

    it('of two rotations of one session exactly one wins; the other is told where it went', async (store) => {
      const { k, r, move } = await liveSession(store);
      const [a, b] = [key(), key()];
      const outcomes = await Promise.all([
        store.rotate(k, a, r, HOUR, move),
        store.rotate(k, b, r, HOUR, move),
      ]);
      const winner = outcomes[0].status === 'rotated' ? a : b;
      const loser = winner === a ? b : a;
      assertSame(outcomes.map((o) => o.status).sort(), ['moved', 'rotated']);
      assertSame(
        outcomes.find((o) => o.status === 'moved'),
        { status: 'moved', to: winner },
      );
      assert.equal(await store.get(loser), null);
      assertSame(
        (await store.listForUser(r.userId!)).map((e) => e.key),
        [winner],
      );
    });

    it('update, destroy and revoke of the old key reach the session it moved into', async (store) => {
      const first = await liveSession(store);
      const next = key();
      await store.rotate(first.k, next, first.r, HOUR, first.move);
      assert.equal(await store.update(first.k, { set: { late: '"write"' } }, HOUR), true);
      assert.equal((await store.get(next))!.data.late, '"write"');
      assert.equal(await store.revoke(first.k, 5, HOUR), true);
      assert.equal((await store.get(next))!.revokedAt, 5);
      assert.equal(await store.update(first.k, { set: { x: '1' } }, HOUR), false);

      // Two hops: a logout with the oldest ID ends the newest session.
      const second = await liveSession(store);
      const [mid, last] = [key(), key()];
      await store.rotate(second.k, mid, second.r, HOUR, second.move);
      await store.rotate(mid, last, second.r, HOUR, second.move);
      await store.destroy(second.k);
      assert.equal(await store.get(last), null);
      assertSame(await store.listForUser(second.r.userId!), []);
    });

    it('a forward is never extended: it dies after its own TTL, whatever is written through it', async (store) => {
      const { k, r } = await liveSession(store);
      const next = key();
      await store.rotate(k, next, r, HOUR, { expectHandle: r.handle, forwardMs: 300 });
      for (let i = 0; i < 2; i++) {
        assert.equal(await store.update(k, { lastSeenAt: Date.now() }, HOUR), true);
        await sleep(100);
      }
      await sleep(250);
      assert.equal(await store.get(k), null);
      assert.notEqual(await store.get(next), null);
    });

    it('a rotation racing revokeAllForUser never leaves a live session behind', async (store) => {
      if (!store.revokeAllForUser) return; // optional method
      for (let i = 0; i < 20; i++) {
        const { k, r, move } = await liveSession(store);
        const next = key();
        const [, revoked]: [unknown, number] = await Promise.all([
          store.rotate(k, next, r, HOUR, move),
          store.revokeAllForUser(r.userId!, 9, HOUR),
        ]);
        assert.equal(revoked, 1);
        for (const candidate of [k, next]) {
          const left = await store.get(candidate);
          assert.ok(
            left === null || left.revokedAt !== undefined || left.movedTo !== undefined,
            'nothing live is left under the old or the new key',
          );
        }
        assertSame(await store.listForUser(r.userId!), []);
      }
    });

    it('caps live sessions per user at 100 by default; a rotation never counts against the cap', async (store) => {
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
      assert.equal((await store.listForUser(u)).length, 100);
      assert.equal(await revokedAmong(survivors), 0);
      // A new log-in does: one of the older sessions is revoked (which one,
      // when they were indexed within the same millisecond, is the store's call).
      const newest = key();
      const answer = await store.set(newest, record({ userId: u }), HOUR);
      const listed = (await store.listForUser(u)).map((e) => e.key);
      assert.equal(listed.length, 100);
      assert.ok(listed.includes(newest), 'the new log-in is listed');
      assert.equal(await revokedAmong(survivors), 1);
      // What set() answers (a store may answer nothing): the one it revoked, for the module's events.
      if (answer) {
        const revoked = (await Promise.all(survivors.map((k) => store.get(k)))).find(
          (r) => r?.revokedAt !== undefined,
        )!;
        const original = records.find((r) => r.handle === revoked.handle)!;
        assertSame(answer.capped, [
          { handle: original.handle, createdAt: original.createdAt, kind: 'cookie' },
        ]);
      }
      // A log-in that replaces a session (rotate without expectHandle) counts too, and says so.
      const replaced = key();
      await store.set(replaced, record(), HOUR);
      const outcome = await store.rotate(replaced, key(), record({ userId: u }), HOUR, {
        forwardMs: 0,
      });
      assert.equal(outcome.status, 'rotated');
      assert.equal(await revokedAmong([...survivors, newest]), 2);
      if (outcome.status === 'rotated' && outcome.capped !== undefined) {
        assert.equal(outcome.capped.length, 1);
        assert.equal(outcome.capped[0].kind, 'cookie');
      }
    });
  });
}
