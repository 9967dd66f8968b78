import assert from 'node:assert/strict';
import {
  REFRESH_TOKEN_HISTORY,
  type RefreshFamilyState,
  type SessionRecord,
} from '../../stores/session-record.js';
import type {
  RedeemOutcome,
  RedeemRequest,
  SessionStore,
} from '../../stores/session-store.interface.js';
import {
  assertSame,
  HOUR,
  key,
  record,
  sleep,
  user,
  type ContractCases,
} from './contract-fixtures.js';

/** A token digest has a store key's shape (SHA-256, base64url). */
const digest = key;

/** The optional method, or undefined: the cases of a store without it pass as they are. */
function redeemer(store: SessionStore): SessionStore['redeemRefreshToken'] {
  return store.redeemRefreshToken?.bind(store);
}

/** A fresh family in `store`: a user's record with `refresh` and no data, as a log-in writes it. */
async function family(
  store: SessionStore,
  overrides: Partial<SessionRecord> = {},
  ttlMs = HOUR,
): Promise<{ k: string; r: SessionRecord; token: string }> {
  const k = key();
  const token = digest();
  const r = record({
    userId: user(),
    roles: ['user'],
    authenticatedAt: Date.now(),
    refresh: { current: token, generation: 1 },
    data: {},
    ...overrides,
  });
  await store.set(k, r, ttlMs);
  return { k, r, token: r.refresh!.current };
}

/** A redemption of `presented` now, with a fresh successor and lifetimes no case reaches. */
function request(presented: string, overrides: Partial<RedeemRequest> = {}): RedeemRequest {
  return {
    presented,
    successor: digest(),
    now: Date.now(),
    idleMs: HOUR,
    absoluteMs: 2 * HOUR,
    graceMs: 0,
    revokedTtlMs: HOUR,
    ...overrides,
  };
}

/** The family's rotation state after a rotation, or a failure naming what came instead. */
function rotatedState(outcome: RedeemOutcome): RefreshFamilyState {
  assert.equal(outcome.status, 'rotated');
  return (outcome as Extract<RedeemOutcome, { status: 'rotated' }>).record.refresh!;
}

/**
 * The optional `redeemRefreshToken` (token sessions): rotation of a
 * refresh-token family, reuse detection (a rotated token coming back ends
 * the family), the reuse grace, expiry, and that one token never rotates
 * twice, however many redemptions race. A family is a record like a
 * session, so it is also listed, capped and revoked with the user's sessions.
 */
export function refreshCases({ it, describe }: ContractCases): void {
  describe('refresh-token families (when the store has redeemRefreshToken)', () => {
    it('a family written with set() reads back with its rotation state', async (store) => {
      if (!redeemer(store)) return; // optional method
      const { k, r } = await family(store, {
        refresh: {
          current: digest(),
          generation: 7,
          previous: digest(),
          rotatedAt: Date.now() - 5,
          sealedSuccessor: 'sealed.successor',
        },
      });
      assertSame(await store.get(k), r);
      const { k: fresh, r: first } = await family(store);
      assertSame(await store.get(fresh), first);
    });

    it('peek (when the store has it) answers a family without data or history, after rotations too', async (store) => {
      const redeem = redeemer(store);
      if (!redeem || !store.peek) return; // optional methods
      const { k, r, token } = await family(store);
      assertSame(await store.peek(k), r);
      const req = request(token);
      const rotated = rotatedState(await redeem(k, req));
      assertSame((await store.peek(k))!.refresh, rotated);
      await store.revoke(k, Date.now(), HOUR);
      const tombstone = (await store.peek(k))!;
      assert.equal(typeof tombstone.revokedAt, 'number');
      assert.equal(tombstone.refresh, undefined);
    });

    it('rotates the current token: the successor is current, generation + 1, lastSeenAt now', async (store) => {
      const redeem = redeemer(store);
      if (!redeem) return; // optional method
      const { k, r, token } = await family(store, {
        createdAt: Date.now() - 1_000,
        lastSeenAt: Date.now() - 1_000,
      });
      const req = request(token, { sealedSuccessor: 'sealed-1' });
      const outcome = await redeem(k, req);
      const expected: SessionRecord = {
        ...r,
        lastSeenAt: req.now,
        refresh: {
          current: req.successor,
          generation: 2,
          previous: token,
          rotatedAt: req.now,
          sealedSuccessor: 'sealed-1',
        },
      };
      assertSame(outcome, { status: 'rotated', record: expected });
      assertSame(await store.get(k), expected);
      assertSame(
        (await store.listForUser(r.userId!)).map((e) => e.key),
        [k],
      );

      // The new token rotates again; without a sealed successor none is kept.
      const next = request(req.successor);
      const again = rotatedState(await redeem(k, next));
      assertSame(again, {
        current: next.successor,
        generation: 3,
        previous: req.successor,
        rotatedAt: next.now,
      });
      assertSame((await store.get(k))!.refresh, again);
    });

    it('a token two generations back is reuse: the family becomes a tombstone at once', async (store) => {
      const redeem = redeemer(store);
      if (!redeem) return; // optional method
      const { k, r, token } = await family(store);
      const first = request(token, { graceMs: 60_000, sealedSuccessor: 'sealed-1' });
      await redeem(k, first);
      const second = request(first.successor, { graceMs: 60_000, sealedSuccessor: 'sealed-2' });
      await redeem(k, second);
      const before = (await store.get(k))!;

      const reuse = request(token, { graceMs: 60_000 });
      assertSame(await redeem(k, reuse), { status: 'reused', record: before });
      const tomb = (await store.get(k))!;
      assert.equal(tomb.revokedAt, reuse.now);
      assert.equal(tomb.refresh, undefined, 'a tombstone keeps no rotation state');
      assert.equal(tomb.userId, undefined);
      assertSame(await store.listForUser(r.userId!), []);
      assertSame(await redeem(k, request(second.successor)), { status: 'revoked' });
      assertSame(await redeem(k, request(token)), { status: 'revoked' });
    });

    it(`remembers the latest ${REFRESH_TOKEN_HISTORY} tokens: one older is unknown (the family goes on), one within is reuse`, async (store) => {
      const redeem = redeemer(store);
      if (!redeem) return; // optional method
      const { k, token } = await family(store);
      const issued = [token];
      for (let i = 0; i < REFRESH_TOKEN_HISTORY + 10; i++) {
        const next = request(issued.at(-1)!);
        rotatedState(await redeem(k, next));
        issued.push(next.successor);
      }
      const current = issued.at(-1)!;
      // Past the history: forgotten, so it is no token of this family any more.
      for (const old of [issued[0], issued[issued.length - 1 - REFRESH_TOKEN_HISTORY]]) {
        assertSame(await redeem(k, request(old)), { status: 'unknown' });
      }
      const live = (await store.get(k))!;
      assert.equal(live.revokedAt, undefined, 'an unknown token ends nothing');
      assert.equal(live.refresh?.current, current);
      assert.equal(live.refresh?.generation, REFRESH_TOKEN_HISTORY + 11);
      // The oldest one remembered still is: it comes back, the family ends.
      const remembered = issued[issued.length - REFRESH_TOKEN_HISTORY];
      assert.equal((await redeem(k, request(remembered))).status, 'reused');
    });

    it('the previous token is reuse without a grace (graceMs 0)', async (store) => {
      const redeem = redeemer(store);
      if (!redeem) return; // optional method
      const { k, r, token } = await family(store);
      await redeem(k, request(token));
      const before = (await store.get(k))!;
      assertSame(await redeem(k, request(token)), { status: 'reused', record: before });
      assert.notEqual((await store.get(k))!.revokedAt, undefined);
      assertSame(await store.listForUser(r.userId!), []);
    });

    it('the previous token inside the grace is replayed: the same successor, nothing written', async (store) => {
      const redeem = redeemer(store);
      if (!redeem) return; // optional method
      const { k, token } = await family(store);
      const first = request(token, { graceMs: 60_000, sealedSuccessor: 'sealed-1' });
      await redeem(k, first);
      const after = (await store.get(k))!;

      const replay = request(token, { graceMs: 60_000, sealedSuccessor: 'sealed-other' });
      const expected = { status: 'replayed', record: after, sealedSuccessor: 'sealed-1' };
      assertSame(await redeem(k, replay), expected);
      assertSame(await store.get(k), after, 'a replay writes nothing');
      assertSame(await redeem(k, request(token, { graceMs: 60_000 })), expected, 'twice');

      // The successor it got is still the one that rotates.
      const state = rotatedState(await redeem(k, request(first.successor, { graceMs: 60_000 })));
      assert.equal(state.previous, first.successor);
      assert.equal(state.generation, 3);
    });

    it('the previous token after the grace, or with no sealed successor kept, is reuse', async (store) => {
      const redeem = redeemer(store);
      if (!redeem) return; // optional method
      const late = await family(store);
      await redeem(late.k, request(late.token, { graceMs: 100, sealedSuccessor: 'sealed-1' }));
      await sleep(200);
      const reuse = await redeem(late.k, request(late.token, { graceMs: 100 }));
      assert.equal(reuse.status, 'reused');
      assert.notEqual((await store.get(late.k))!.revokedAt, undefined);

      const unsealed = await family(store);
      await redeem(unsealed.k, request(unsealed.token, { graceMs: 60_000 }));
      const outcome = await redeem(unsealed.k, request(unsealed.token, { graceMs: 60_000 }));
      assert.equal(outcome.status, 'reused');
    });

    it('a token the family never issued is unknown and changes nothing', async (store) => {
      const redeem = redeemer(store);
      if (!redeem) return; // optional method
      const { k, r, token } = await family(store);
      assertSame(await redeem(k, request(digest())), { status: 'unknown' });
      // A token another family issued is as unknown here.
      const other = await family(store);
      assertSame(await redeem(k, request(other.token)), { status: 'unknown' });
      assertSame(await store.get(k), r);
      assert.equal(rotatedState(await redeem(k, request(token))).generation, 2);
    });

    it('a missing key, a forward and a cookie session are unknown', async (store) => {
      const redeem = redeemer(store);
      if (!redeem) return; // optional method
      assertSame(await redeem(key(), request(digest())), { status: 'unknown' });

      const cookie = key();
      const session = record({ userId: user() });
      await store.set(cookie, session, HOUR);
      // A presented value equal to anything the session holds is still no token of it.
      assertSame(await redeem(cookie, request(session.handle)), { status: 'unknown' });
      assertSame(await store.get(cookie), session);

      const moved = key();
      await store.rotate(cookie, moved, session, HOUR, {
        expectHandle: session.handle,
        forwardMs: 60_000,
      });
      assertSame(await redeem(cookie, request(digest())), { status: 'unknown' });
    });

    it('a family past its idle or absolute lifetime is expired and left as it was', async (store) => {
      const redeem = redeemer(store);
      if (!redeem) return; // optional method
      const now = Date.now();
      const idle = await family(store, { createdAt: now - 10_000, lastSeenAt: now - 2_000 });
      assertSame(await redeem(idle.k, request(idle.token, { idleMs: 2_000 })), {
        status: 'expired',
      });
      assertSame(await store.get(idle.k), idle.r);

      const old = await family(store, { createdAt: now - 10_000, lastSeenAt: now - 10 });
      const outcome = await redeem(old.k, request(old.token, { absoluteMs: 10_000 }));
      assertSame(outcome, { status: 'expired' });
      assertSame(await store.get(old.k), old.r);
      assertSame(
        (await store.listForUser(old.r.userId!)).map((e) => e.key),
        [old.k],
      );
      // Just inside both lifetimes it still rotates.
      assert.equal(rotatedState(await redeem(old.k, request(old.token))).generation, 2);
    });

    it('a revoked or destroyed family is revoked, or unknown once gone', async (store) => {
      const redeem = redeemer(store);
      if (!redeem) return; // optional method
      const revoked = await family(store);
      assert.equal(await store.revoke(revoked.k, 5, HOUR), true);
      assertSame(await redeem(revoked.k, request(revoked.token)), { status: 'revoked' });
      assert.equal((await store.get(revoked.k))!.revokedAt, 5);

      const destroyed = await family(store);
      await store.destroy(destroyed.k);
      assertSame(await redeem(destroyed.k, request(destroyed.token)), { status: 'unknown' });
    });

    it("a rotation sets the TTL to the family's remaining lifetime", async (store) => {
      const redeem = redeemer(store);
      if (!redeem) return; // optional method
      // Idle-bound: a family kept an hour lives 500 ms after this rotation.
      const idle = await family(store);
      rotatedState(await redeem(idle.k, request(idle.token, { idleMs: 500 })));
      // Absolute-bound: created 1 s ago with 1.5 s to live, whatever the idle lifetime.
      const old = await family(store, { createdAt: Date.now() - 1_000 });
      rotatedState(await redeem(old.k, request(old.token, { absoluteMs: 1_500 })));
      await sleep(150);
      assert.notEqual(await store.get(idle.k), null);
      assert.notEqual(await store.get(old.k), null);
      await sleep(600);
      assert.equal(await store.get(idle.k), null, 'gone once idle');
      assert.equal(await store.get(old.k), null, 'gone at its absolute end');
    });

    it('a tombstone left by reuse is kept revokedTtlMs', async (store) => {
      const redeem = redeemer(store);
      if (!redeem) return; // optional method
      const { k, token } = await family(store);
      await redeem(k, request(token));
      assert.equal((await redeem(k, request(token, { revokedTtlMs: 150 }))).status, 'reused');
      assert.notEqual(await store.get(k), null);
      await sleep(300);
      assert.equal(await store.get(k), null);
    });

    it('of concurrent redemptions of one token exactly one rotates; without a grace the family ends', async (store) => {
      const redeem = redeemer(store);
      if (!redeem) return; // optional method
      for (let round = 0; round < 20; round++) {
        const { k, r, token } = await family(store);
        const racers = round % 2 === 0 ? 2 : 5;
        const outcomes = await Promise.all(
          Array.from({ length: racers }, () => redeem(k, request(token))),
        );
        // The first to run rotates, the next is reuse (the family ends), the rest find a tombstone.
        const expected = ['reused', 'rotated', ...Array<string>(racers - 2).fill('revoked')];
        assertSame(outcomes.map((o) => o.status).sort(), expected.sort(), `round ${round}`);
        assert.notEqual((await store.get(k))!.revokedAt, undefined);
        assertSame(await store.listForUser(r.userId!), []);
      }
    });

    it('of concurrent redemptions of one token inside a grace one rotates, the others replay it', async (store) => {
      const redeem = redeemer(store);
      if (!redeem) return; // optional method
      for (let round = 0; round < 20; round++) {
        const { k, token } = await family(store);
        const racers = round % 2 === 0 ? 2 : 5;
        const requests = Array.from({ length: racers }, (_, i) =>
          request(token, { graceMs: 60_000, sealedSuccessor: `sealed-${i}` }),
        );
        const outcomes: RedeemOutcome[] = await Promise.all(requests.map((req) => redeem(k, req)));
        const winners = outcomes.flatMap((o, i) => (o.status === 'rotated' ? [requests[i]] : []));
        assert.equal(winners.length, 1, `round ${round}: one rotation`);
        const [winner] = winners;
        for (const outcome of outcomes.filter((o) => o.status !== 'rotated')) {
          assert.equal(outcome.status, 'replayed');
          assert.equal(
            (outcome as Extract<RedeemOutcome, { status: 'replayed' }>).sealedSuccessor,
            winner.sealedSuccessor,
          );
        }
        const state = (await store.get(k))!.refresh!;
        assert.equal(state.current, winner.successor);
        assert.equal(state.generation, 2);
      }
    });

    it('families are listed with their state and revoked by revokeAllForUser', async (store) => {
      const redeem = redeemer(store);
      if (!redeem) return; // optional method
      const u = user();
      const one = await family(store, { userId: u });
      const two = await family(store, { userId: u });
      const cookie = key();
      await store.set(cookie, record({ userId: u }), HOUR);
      const state = rotatedState(await redeem(one.k, request(one.token)));
      const listed = await store.listForUser(u);
      assertSame(listed.map((e) => e.key).sort(), [one.k, two.k, cookie].sort());
      assertSame(listed.find((e) => e.key === one.k)!.record.refresh, state);
      assertSame(listed.find((e) => e.key === two.k)!.record, two.r);

      if (!store.revokeAllForUser) return; // optional method
      assert.equal(await store.revokeAllForUser(u, 42, HOUR, cookie), 2);
      assertSame(await redeem(one.k, request(state.current)), { status: 'revoked' });
      assertSame(await redeem(two.k, request(two.token)), { status: 'revoked' });
      assertSame(
        (await store.listForUser(u)).map((e) => e.key),
        [cookie],
      );
    });

    it('families count against the per-user cap (100 by default); a rotation does not', async (store) => {
      const redeem = redeemer(store);
      if (!redeem) return; // optional method
      const u = user();
      const families: Array<{ k: string; token: string }> = [];
      for (let i = 0; i < 100; i++) families.push(await family(store, { userId: u }));
      families[99].token = rotatedState(
        await redeem(families[99].k, request(families[99].token)),
      ).current;
      assert.equal((await store.listForUser(u)).length, 100, 'a rotation revokes none');
      // A new log-in revokes one of the older families (which one, when they
      // were indexed within the same millisecond, is the store's call).
      const newest = await family(store, { userId: u });
      const listed = (await store.listForUser(u)).map((e) => e.key);
      assert.equal(listed.length, 100);
      assert.ok(listed.includes(newest.k), 'the new log-in is listed');
      const outcomes = await Promise.all(families.map(({ k, token }) => redeem(k, request(token))));
      assert.equal(outcomes.filter((o) => o.status === 'revoked').length, 1);
    });
  });
}
