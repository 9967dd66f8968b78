import assert from 'node:assert/strict';
import type { UserSessionEntry } from '../../stores/session-record.js';
import type { RedeemOutcome, SessionStore } from '../../stores/session-store.interface.js';
import {
  assertSame,
  HOUR,
  key,
  record,
  sleep,
  user,
  type ContractCases,
} from './contract-fixtures.js';

/** The optional method, or undefined: the cases of a store without it pass as they are. */
function claimer(store: SessionStore): SessionStore['claimExpired'] {
  return store.claimExpired?.bind(store);
}

/** A `before` that every short TTL of these cases has passed, and no HOUR-long one. */
const soon = () => Date.now() + 60_000;
/** As many as a case ever has due: one claim takes them all. */
const ALL = 1_000;

const keysOf = (entries: UserSessionEntry[]) => entries.map((e) => e.key);

/**
 * The optional `claimExpired` and `stats` (operations): each record whose
 * TTL ends is claimed once, with its record, whichever caller asks first;
 * records ended otherwise (destroyed, revoked, moved, gone) are never
 * answered; a TTL set again by a write moves the claim to the new end; the
 * gauge counts live records only.
 */
export function expiryCases({ it, describe }: ContractCases): void {
  describe('expiry claims and stats (when the store has claimExpired / stats)', () => {
    it('a record whose TTL ends by `before` is claimed once, with its record', async (store) => {
      const claim = claimer(store);
      if (!claim) return; // optional method
      const k = key();
      const r = record({ userId: user(), roles: ['user'], authenticatedAt: Date.now() });
      await store.set(k, r, 300);
      const anonymous = key();
      const a = record();
      await store.set(anonymous, a, 300);
      const later = key();
      await store.set(later, record(), HOUR);

      const first = await claim(soon(), ALL);
      assertSame(
        first
          .filter((e) => e.key === k || e.key === anonymous)
          .sort((x, y) => (x.key < y.key ? -1 : 1)),
        [
          { key: k, record: r },
          { key: anonymous, record: a },
        ].sort((x, y) => (x.key < y.key ? -1 : 1)),
      );
      assert.ok(!keysOf(first).includes(later), 'a TTL ending after `before` is not claimed');
      const second = keysOf(await claim(soon(), ALL));
      assert.ok(!second.includes(k) && !second.includes(anonymous), 'claimed once');
      assertSame(await store.get(k), r, 'a claim leaves the record as it was');
    });

    it('a TTL set again by update() is claimed at its new end, and again after each extension', async (store) => {
      const claim = claimer(store);
      if (!claim) return; // optional method
      const k = key();
      const r = record({ userId: user() });
      await store.set(k, r, 300);
      assert.equal(await store.update(k, { set: { views: '2' } }, 5_000), true);
      assert.ok(
        !keysOf(await claim(Date.now() + 2_000, ALL)).includes(k),
        'not before its new end',
      );
      const claimed = (await claim(Date.now() + 10_000, ALL)).filter((e) => e.key === k);
      assertSame(claimed, [{ key: k, record: { ...r, data: { ...r.data, views: '2' } } }]);

      // Claimed, then written again (a request came back): claimable again at the new end.
      assert.equal(await store.update(k, { lastSeenAt: r.lastSeenAt + 1 }, 5_000), true);
      assert.ok(!keysOf(await claim(Date.now() + 2_000, ALL)).includes(k));
      assert.ok(keysOf(await claim(Date.now() + 10_000, ALL)).includes(k), 'claimable again');
    });

    it('records ended by destroy, revoke, revokeAllForUser, a rotation or their TTL are never answered', async (store) => {
      const claim = claimer(store);
      if (!claim) return; // optional method
      const u = user();
      const ended: string[] = [];
      const short = async (overrides = {}) => {
        const k = key();
        const r = record({ userId: u, ...overrides });
        await store.set(k, r, 300);
        ended.push(k);
        return { k, r };
      };
      await store.destroy((await short()).k);
      await store.revoke((await short()).k, Date.now(), 300);
      // A rotation leaves a forward (not a session) under the old key.
      const moved = await short();
      const next = key();
      await store.rotate(moved.k, next, moved.r, HOUR, {
        expectHandle: moved.r.handle,
        forwardMs: 300,
      });
      // A log-in deletes the old key.
      const loggedIn = await short({ userId: undefined });
      const loginNext = key();
      await store.rotate(loggedIn.k, loginNext, record({ userId: u }), HOUR, { forwardMs: 0 });
      if (store.revokeAllForUser) {
        const other = user();
        const k = key();
        await store.set(k, record({ userId: other }), 300);
        ended.push(k);
        assert.equal(await store.revokeAllForUser(other, Date.now(), 300), 1);
      }
      // Past its TTL already: gone, so there is nothing to answer with.
      const gone = key();
      await store.set(gone, record(), 50);
      ended.push(gone);
      await sleep(150);

      const claimed = keysOf(await claim(soon(), ALL));
      for (const k of ended) assert.ok(!claimed.includes(k), `${k} ended otherwise`);
      assert.ok(!claimed.includes(next) && !claimed.includes(loginNext));
      // The sessions rotated into are claimed at their own end.
      const rotated = keysOf(await claim(Date.now() + 2 * HOUR, ALL));
      assert.ok(rotated.includes(next) && rotated.includes(loginNext));
      for (const k of ended) assert.ok(!rotated.includes(k), `${k} ended otherwise`);
    });

    it('a family rotated with retainMs stays readable that much longer and is claimed with its state', async (store) => {
      const claim = claimer(store);
      const redeem = store.redeemRefreshToken?.bind(store);
      if (!claim || !redeem) return; // optional methods
      const k = key();
      const token = key();
      const r = record({
        userId: user(),
        roles: ['user'],
        data: {},
        refresh: { current: token, generation: 1 },
      });
      await store.set(k, r, HOUR);
      const now = Date.now();
      const outcome: RedeemOutcome = await redeem(k, {
        presented: token,
        successor: key(),
        now,
        idleMs: 300,
        absoluteMs: HOUR,
        graceMs: 0,
        revokedTtlMs: HOUR,
        retainMs: 1_500,
      });
      assert.equal(outcome.status, 'rotated');
      const rotated = (outcome as Extract<RedeemOutcome, { status: 'rotated' }>).record;
      // Its TTL ends at the idle end (now + 300) plus the 1.5 s retained.
      assert.ok(!keysOf(await claim(now + 1_000, ALL)).includes(k), 'not before its TTL ends');
      await sleep(600);
      assertSame(await store.get(k), rotated, 'readable past its idle end');
      const claimed = (await claim(soon(), ALL)).filter((e) => e.key === k);
      assertSame(claimed, [{ key: k, record: rotated }]);
    });

    it('answers at most `limit` records per call; repeated calls take the rest', async (store) => {
      const claim = claimer(store);
      if (!claim) return; // optional method
      const mine = Array.from({ length: 5 }, () => key());
      await Promise.all(mine.map((k) => store.set(k, record(), 300)));
      const seen: string[] = [];
      for (let call = 0; call < 10 && seen.length < mine.length; call++) {
        const batch: UserSessionEntry[] = await claim(soon(), 2);
        assert.ok(batch.length <= 2, `call ${call} answered ${batch.length}`);
        if (call === 0) assert.equal(batch.length, 2);
        seen.push(...keysOf(batch).filter((k) => mine.includes(k)));
      }
      assertSame([...seen].sort(), [...mine].sort());
    });

    it('concurrent claims never answer the same key', async (store) => {
      const claim = claimer(store);
      if (!claim) return; // optional method
      const mine = new Set(Array.from({ length: 40 }, () => key()));
      await Promise.all([...mine].map((k) => store.set(k, record(), 300)));
      const racing = await Promise.all(Array.from({ length: 4 }, () => claim(soon(), 15)));
      const rest = await claim(soon(), ALL);
      const answered = [...racing, rest].flatMap(keysOf).filter((k) => mine.has(k));
      assert.equal(answered.length, mine.size, 'each key answered exactly once');
      assertSame([...new Set(answered)].sort(), [...mine].sort());
    });

    it('stats counts live records, drops ended ones, and reports memory as a positive number', async (store) => {
      const stats = store.stats?.bind(store);
      if (!stats) return; // optional method
      const start = await stats();
      assert.ok(Number.isInteger(start.activeSessions) && start.activeSessions >= 0);
      const added = async () => (await stats()).activeSessions - start.activeSessions;
      const u = user();
      const keys = [key(), key(), key(), key()];
      const records = keys.map(() => record({ userId: u }));
      await Promise.all(keys.map((k, i) => store.set(k, records[i], HOUR)));
      await store.set(key(), record(), 200);
      assert.equal(await added(), 5);

      await store.destroy(keys[0]);
      await store.revoke(keys[1], Date.now(), HOUR);
      const next = key();
      await store.rotate(keys[2], next, records[2], HOUR, {
        expectHandle: records[2].handle,
        forwardMs: 60_000,
      });
      await sleep(350);
      // Left: keys[3] and the session rotated into (its forward, the tombstone and the short one do not count).
      assert.equal(await added(), 2);

      const { memoryBytes } = await stats();
      if (memoryBytes !== undefined) {
        assert.ok(
          Number.isFinite(memoryBytes) && memoryBytes > 0,
          `memoryBytes ${String(memoryBytes)}`,
        );
      }
    });
  });
}
