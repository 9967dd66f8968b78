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

/** Records: whole writes, delta writes, copies, values kept exactly, TTLs. */
export function recordCases({ it }: ContractCases): void {
  it('answers null for an unknown key', async (store) => {
    assert.equal(await store.get(key()), null);
  });

  it('round-trips a whole record', async (store) => {
    const k = key();
    const r = record({ userId: user(), roles: ['user', 'admin'], authenticatedAt: 123 });
    await store.set(k, r, HOUR);
    assertSame(await store.get(k), r);
  });

  it('peek (when the store has it) answers the record without its data, null for an unknown key', async (store) => {
    if (!store.peek) return; // optional method
    assert.equal(await store.peek(key()), null);
    const k = key();
    const r = record({ userId: user(), roles: ['user'], authenticatedAt: 123 });
    await store.set(k, r, HOUR);
    assertSame(await store.peek(k), { ...r, data: {} });
  });

  it('never shares objects with the caller', async (store) => {
    const k = key();
    const r = record({ roles: ['user'] });
    await store.set(k, r, HOUR);
    r.data.views = '99';
    r.roles!.push('admin');
    const first = (await store.get(k))!;
    first.data.views = '42';
    assert.equal((await store.get(k))!.data.views, '1');
    assertSame((await store.get(k))!.roles, ['user']);
  });

  it('keeps values exactly, including unicode and empty strings', async (store) => {
    const k = key();
    const data = {
      emoji: '"😀 ✓"',
      empty: '""',
      nested: '{"a":[1,{"b":null}]}',
      odd: '"a:b\\r\\n*"',
    };
    await store.set(k, record({ data }), HOUR);
    assertSame((await store.get(k))!.data, data);
  });

  it('update writes only the changed keys and keeps the others', async (store) => {
    const k = key();
    await store.set(k, record(), HOUR);
    assert.equal(await store.update(k, { set: { views: '2', theme: '"dark"' } }, HOUR), true);
    assertSame((await store.get(k))!.data, { views: '2', cart: '["apple"]', theme: '"dark"' });
    assert.equal(await store.update(k, { unset: ['cart'], lastSeenAt: 777 }, HOUR), true);
    const after = (await store.get(k))!;
    assertSame(after.data, { views: '2', theme: '"dark"' }, 'an unset key is gone');
    assert.equal(after.lastSeenAt, 777);
  });

  it('handles sessions with hundreds of keys (writes larger than one Redis call takes)', async (store) => {
    const k = key();
    const many = (n: number, value: (i: number) => string) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, value(i)]));
    const r = record({ userId: user(), data: many(450, (i) => String(i)) });
    await store.set(k, r, HOUR);
    assertSame(await store.get(k), r);
    const changed = many(300, (i) => `"v${i}"`);
    const unset = Array.from({ length: 120 }, (_, i) => `k${330 + i}`);
    assert.equal(await store.update(k, { set: changed, unset, lastSeenAt: 4242 }, HOUR), true);
    const after = (await store.get(k))!;
    assert.equal(after.lastSeenAt, 4242);
    assertSame(after.data, { ...changed, ...many(330, (i) => String(i)), ...changed });
    assert.equal(Object.keys(after.data).length, 330);
    // without lastSeenAt, a large patch still lands whole
    assert.equal(await store.update(k, { set: many(250, () => '0') }, HOUR), true);
    const last = (await store.get(k))!;
    assert.equal(last.lastSeenAt, 4242);
    assert.equal(Object.keys(last.data).length, 330);
    assert.equal(Object.values(last.data).filter((v) => v === '0').length, 250);
  });

  it('merges concurrent updates of different keys', async (store) => {
    const k = key();
    await store.set(k, record({ data: {} }), HOUR);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.update(k, { set: { [`k${i}`]: `${i}` } }, HOUR)),
    );
    const data = (await store.get(k))!.data;
    assertSame(Object.keys(data).sort(), Array.from({ length: 20 }, (_, i) => `k${i}`).sort());
  });

  it('update never creates a record', async (store) => {
    const k = key();
    assert.equal(await store.update(k, { set: { views: '1' } }, HOUR), false);
    assert.equal(await store.get(k), null);
  });

  it('update refreshes the TTL', async (store) => {
    const k = key();
    await store.set(k, record(), 300);
    await sleep(150);
    assert.equal(await store.update(k, { lastSeenAt: Date.now() }, 1000), true);
    await sleep(300);
    assert.notEqual(await store.get(k), null);
  });

  it('forgets a record when its TTL runs out', async (store) => {
    const k = key();
    await store.set(k, record(), 100);
    assert.notEqual(await store.get(k), null);
    await sleep(250);
    assert.equal(await store.get(k), null);
    assert.equal(await store.update(k, { set: { a: '1' } }, HOUR), false);
  });

  it('update of lastSeenAt alone keeps the data', async (store) => {
    const k = key();
    const r = record({ userId: user() });
    await store.set(k, r, HOUR);
    assert.equal(await store.update(k, { lastSeenAt: r.lastSeenAt + 5 }, HOUR), true);
    assertSame(await store.get(k), { ...r, lastSeenAt: r.lastSeenAt + 5 });
  });

  it('data key names that look like metadata stay data', async (store) => {
    const k = key();
    const data = { h: '"x"', u: '"y"', userId: '"z"', 'd:nested': '1', '': '2' };
    const r = record({ data });
    await store.set(k, r, HOUR);
    await store.update(k, { set: { r: '"roles?"' }, unset: ['h'] }, HOUR);
    const got = (await store.get(k))!;
    assertSame(got.data, { u: '"y"', userId: '"z"', 'd:nested': '1', '': '2', r: '"roles?"' });
    assert.equal(got.handle, r.handle);
    assert.equal(got.userId, undefined);
    assert.equal(got.roles, undefined);
  });
}
