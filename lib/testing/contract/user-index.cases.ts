import assert from 'node:assert/strict';
import {
  assertSame,
  HOUR,
  key,
  record,
  sleep,
  user,
  type ContractCases,
} from './contract-fixtures.js';

/** The per-user index: listings, destroy, revoke and its tombstones, "log out everywhere". */
export function userIndexCases({ it }: ContractCases): void {
  it('destroy deletes the record and its index entry; a missing key is fine', async (store) => {
    const k = key();
    const u = user();
    await store.set(k, record({ userId: u }), HOUR);
    await store.destroy(k);
    assert.equal(await store.get(k), null);
    assertSame(await store.listForUser(u), []);
    assert.equal(await store.destroy(key()), undefined);
  });

  it('lists the live sessions of one user only', async (store) => {
    const u = user();
    const other = user();
    const keys = [key(), key(), key()];
    for (const k of keys) await store.set(k, record({ userId: u }), HOUR);
    await store.set(key(), record({ userId: other }), HOUR);
    await store.set(key(), record(), HOUR);
    const listed = await store.listForUser(u);
    assertSame(listed.map((e) => e.key).sort(), [...keys].sort());
    for (const entry of listed) assert.equal(entry.record.userId, u);
    assertSame(await store.listForUser(user()), []);
  });

  it('leaves expired sessions out of a listing', async (store) => {
    const u = user();
    const live = key();
    await store.set(live, record({ userId: u }), HOUR);
    await store.set(key(), record({ userId: u }), 80);
    await sleep(200);
    assertSame(
      (await store.listForUser(u)).map((e) => e.key),
      [live],
    );
  });

  it('revoke leaves a tombstone without data, out of the listing, not updatable', async (store) => {
    const u = user();
    const k = key();
    await store.set(k, record({ userId: u }), HOUR);
    assert.equal(await store.revoke(k, 555, HOUR), true);
    const tomb = (await store.get(k))!;
    assert.equal(tomb.revokedAt, 555);
    assert.equal(tomb.userId, undefined);
    assertSame(tomb.data, {});
    assertSame(await store.listForUser(u), []);
    assert.equal(await store.update(k, { set: { a: '1' } }, HOUR), false);
    assert.equal(await store.revoke(k, 556, HOUR), false);
    assert.equal(await store.revoke(key(), 556, HOUR), false);
  });

  it('a tombstone expires after its own TTL', async (store) => {
    const k = key();
    await store.set(k, record(), HOUR);
    await store.revoke(k, Date.now(), 100);
    await sleep(250);
    assert.equal(await store.get(k), null);
  });

  it('revoke and destroy leave the other sessions of the user listed', async (store) => {
    const u = user();
    const [a, b, c] = [key(), key(), key()];
    for (const k of [a, b, c]) await store.set(k, record({ userId: u }), HOUR);
    await store.revoke(a, 1, HOUR);
    await store.destroy(b);
    assertSame(
      (await store.listForUser(u)).map((e) => e.key),
      [c],
    );
  });

  it('a tombstone keeps handle and timestamps only', async (store) => {
    const k = key();
    const r = record({ userId: user(), roles: ['admin'], authenticatedAt: 5 });
    await store.set(k, r, HOUR);
    await store.revoke(k, 9, HOUR);
    assertSame(await store.get(k), {
      handle: r.handle,
      createdAt: r.createdAt,
      lastSeenAt: r.lastSeenAt,
      revokedAt: 9,
      data: {},
    });
  });

  it('revokeAllForUser (when the store has it) revokes all but one, and only that user', async (store) => {
    if (!store.revokeAllForUser) return; // optional method
    const u = user();
    const other = user();
    const keys = [key(), key(), key()];
    for (const k of keys) await store.set(k, record({ userId: u }), HOUR);
    const foreign = key();
    await store.set(foreign, record({ userId: other }), HOUR);
    assert.equal(await store.revokeAllForUser(u, 777, HOUR, keys[0]), 2);
    assertSame(
      (await store.listForUser(u)).map((e) => e.key),
      [keys[0]],
    );
    assert.equal((await store.get(keys[1]))!.revokedAt, 777);
    assert.equal((await store.get(foreign))!.revokedAt, undefined);
    assert.equal(await store.revokeAllForUser(u, 778, HOUR), 1);
    assertSame(await store.listForUser(u), []);
    assert.equal(await store.revokeAllForUser(user(), 779, HOUR), 0);
  });

  it('re-setting a user session as an anonymous record takes it out of the listing', async (store) => {
    const k = key();
    const u = user();
    await store.set(k, record({ userId: u }), HOUR);
    await store.set(k, record(), HOUR);
    assertSame(await store.listForUser(u), []);
  });

  it('re-setting a key under another user moves the index entry', async (store) => {
    const k = key();
    const a = user();
    const b = user();
    await store.set(k, record({ userId: a }), HOUR);
    await store.set(k, record({ userId: b }), HOUR);
    assertSame(await store.listForUser(a), []);
    assertSame(
      (await store.listForUser(b)).map((e) => e.key),
      [k],
    );
  });
}
