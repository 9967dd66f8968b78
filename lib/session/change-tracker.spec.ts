import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { SessionTooLargeException } from '../session.exceptions.js';
import { ChangeTracker, isForbiddenKey, serialize } from './change-tracker.js';
import { freshSession, NO_HOOKS } from '../../test/support/request-sessions.js';

const tracker = (data: Record<string, unknown>, maxBytes?: number) => {
  const serialized: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) serialized[k] = JSON.stringify(v);
  return new ChangeTracker(serialized, maxBytes);
};

/** The bound's definition, computed from scratch: UTF-8 bytes of every key and serialized value. */
const bytesOf = (serialized: Record<string, string>) =>
  Object.entries(serialized).reduce(
    (sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(v),
    0,
  );

/** What `fn` throws (fails the test if it does not throw). */
const thrown = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
};

const expectTooLarge = (fn: () => unknown) => {
  const error = thrown(fn);
  expect(error).toBeInstanceOf(SessionTooLargeException);
  expect((error as SessionTooLargeException).getStatus()).toBe(413);
  expect((error as SessionTooLargeException).getResponse()).toMatchObject({
    statusCode: 413,
    reason: 'session_too_large',
  });
};

describe('ChangeTracker', () => {
  it('reports no delta for a session that was only loaded, or only read', () => {
    const t = tracker({ cart: ['apple'], views: 3, profile: { name: 'A', tags: ['x'] } });
    expect(t.delta()).toBeUndefined();
    expect(t.get('cart')).toEqual(['apple']);
    expect(t.get('profile')).toEqual({ name: 'A', tags: ['x'] });
    expect(t.delta()).toBeUndefined();
  });

  it('detects deep mutations of a value read from the session', () => {
    const t = tracker({ cart: ['apple'], profile: { name: 'A', tags: ['x'] } });
    (t.get('cart') as string[]).push('pear');
    ((t.get('profile') as { tags: string[] }).tags as string[]).push('y');
    expect(t.delta()).toEqual({
      set: { cart: '["apple","pear"]', profile: '{"name":"A","tags":["x","y"]}' },
      unset: [],
    });
  });

  it('detects a mutation made after set(), as of commit time', () => {
    const t = tracker({});
    const list: number[] = [];
    t.set('list', list);
    list.push(1, 2);
    expect(t.delta()).toEqual({ set: { list: '[1,2]' }, unset: [] });
  });

  it('writes only the changed keys: untouched keys are neither re-serialized nor written', () => {
    // stored forms that JSON.stringify would not produce: re-serializing them would show up as a change
    const t = new ChangeTracker({ spaced: '{ "x" : 1 }', corrupt: '{not json', views: '1' });
    t.set('views', 2);
    expect(t.delta()).toEqual({ set: { views: '2' }, unset: [] });
    // a full snapshot keeps untouched keys byte for byte
    expect(t.snapshot()).toEqual({ spaced: '{ "x" : 1 }', corrupt: '{not json', views: '2' });
  });

  it('setting a key to an equal value is no change', () => {
    const t = tracker({ theme: 'dark', prefs: { a: 1 } });
    t.set('theme', 'dark');
    t.set('prefs', { a: 1 });
    expect(t.delta()).toBeUndefined();
  });

  it('unset removes a key; unsetting a missing key is no change; setting undefined is an unset', () => {
    const t = tracker({ a: 1, b: 2 });
    t.unset('a');
    t.unset('missing');
    t.set('b', undefined);
    expect(t.delta()).toEqual({ set: {}, unset: expect.arrayContaining(['a', 'b']) });
    expect(t.delta()!.unset).toHaveLength(2);
    expect(t.has('a')).toBe(false);
    expect(t.get('a')).toBeUndefined();
    expect(t.get('b')).toBeUndefined();
    expect(t.snapshot()).toEqual({});
  });

  it('set after unset brings the key back as a set', () => {
    const t = tracker({ a: 1 });
    t.unset('a');
    t.set('a', 5);
    expect(t.delta()).toEqual({ set: { a: '5' }, unset: [] });
  });

  it('markCommitted makes the current state the baseline', () => {
    const t = tracker({ a: 1 });
    t.set('b', 2);
    t.unset('a');
    t.markCommitted();
    expect(t.delta()).toBeUndefined();
    expect(t.snapshot()).toEqual({ b: '2' });
    t.set('b', 3);
    expect(t.delta()).toEqual({ set: { b: '3' }, unset: [] });
  });

  it('ignores prototype-polluting keys on load, whatever the store holds', () => {
    const hostile = JSON.parse(
      '{"__proto__":"{\\"polluted\\":true}","constructor":"1","prototype":"2","ok":"3"}',
    );
    const t = new ChangeTracker(hostile);
    expect(t.keys()).toEqual(['ok']);
    expect(t.has('__proto__')).toBe(false);
    expect(t.get('constructor')).toBeUndefined();
    expect(t.snapshot()).toEqual({ ok: '3' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(
      isForbiddenKey('__proto__') && isForbiddenKey('constructor') && isForbiddenKey('prototype'),
    ).toBe(true);
    expect(isForbiddenKey('proto')).toBe(false);
  });

  it('reset() forgets everything except the keys carried over', () => {
    const t = tracker({ cart: ['apple'], views: 3, secret: 'x' });
    t.reset(['cart', 'missing']);
    expect(t.keys()).toEqual(['cart']);
    expect(t.snapshot()).toEqual({ cart: '["apple"]' });
  });

  it('a corrupt stored value reads as absent instead of failing', () => {
    expect(new ChangeTracker({ bad: '{oops' }).get('bad')).toBeUndefined();
  });

  it('serialize names the key of a value JSON cannot hold', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => serialize('loop', cyclic)).toThrow(/'loop'.*not JSON-serializable/);
    expect(() => serialize('big', 10n)).toThrow(/'big'/);
    // No JSON form at all: refused, not silently dropped at commit
    expect(() => serialize('fn', () => 1)).toThrow(/'fn'.*a function has no JSON form/);
    expect(() => serialize('sym', Symbol('s'))).toThrow(/'sym'.*a symbol has no JSON form/);
    expect(serialize('gone', undefined)).toBeUndefined();
    // A Date is stored as its ISO string (JSON's form), and read back as that string
    expect(serialize('when', new Date(0))).toBe('"1970-01-01T00:00:00.000Z"');
  });
});

describe('ChangeTracker size accounting (maxSessionBytes)', () => {
  it('counts every key and serialized value in UTF-8 bytes, module keys ($...) included', () => {
    const t = new ChangeTracker({ a: '1', $csrf: '"xyz"', é: '"é"' });
    // a + 1, $csrf + "xyz", é (2 bytes) + "é" (4 bytes)
    expect(t.serializedSize()).toBe(2 + 10 + 6);
  });

  it('follows set, overwrite, unset and set(undefined) without a full re-serialization', () => {
    const t = tracker({ keep: 'k' }); // keep + "k" = 7
    expect(t.serializedSize()).toBe(7);
    t.set('a', 'xx'); // a + "xx" = 5
    expect(t.serializedSize()).toBe(12);
    t.set('a', 'xxxxxx'); // overwrite: a + "xxxxxx" = 9
    expect(t.serializedSize()).toBe(16);
    t.set('keep', 12345); // keep + 12345 = 9
    expect(t.serializedSize()).toBe(18);
    t.unset('a');
    expect(t.serializedSize()).toBe(9);
    t.set('keep', undefined);
    expect(t.serializedSize()).toBe(0);
    t.unset('keep'); // twice: no double count
    expect(t.serializedSize()).toBe(0);
    expect(t.snapshot()).toEqual({});
  });

  it('set() over the bound throws a 413 and leaves the session as it was', () => {
    const t = tracker({ a: 'old' }, 30); // a + "old" = 6
    t.set('b', 'x'.repeat(10)); // b + 12 = 13 -> 19
    expectTooLarge(() => t.set('c', 'y'.repeat(20)));
    expectTooLarge(() => t.set('a', 'z'.repeat(40))); // an overwrite that grows too much
    expect(t.get('a')).toBe('old');
    expect(t.has('c')).toBe(false);
    expect(t.serializedSize()).toBe(19);
    expect(t.delta()).toEqual({ set: { b: `"${'x'.repeat(10)}"` }, unset: [] });
  });

  it('a write that fits still works after a refusal; exactly the bound fits', () => {
    const t = tracker({}, 20);
    expectTooLarge(() => t.set('big', 'x'.repeat(100)));
    t.set('k', 'x'.repeat(17)); // k + 19 = 20: at the bound, not over
    expect(t.serializedSize()).toBe(20);
    expect(t.delta()).toEqual({ set: { k: `"${'x'.repeat(17)}"` }, unset: [] });
    expect(t.snapshot()).toEqual({ k: `"${'x'.repeat(17)}"` });
    expectTooLarge(() => t.set('z', 0));
  });

  it("module keys count toward the bound, but the module's own writes are never refused", () => {
    const t = tracker({ app: 'x'.repeat(10) }, 30); // app + 12 = 15
    // A CSRF secret or renewal time must not lock a full session out: it goes in, over the bound.
    t.set('$csrf', 'y'.repeat(10)); // $csrf + 12 = 17 -> 32
    expect(t.serializedSize()).toBe(32);
    expect(t.delta()).toEqual({ set: { $csrf: `"${'y'.repeat(10)}"` }, unset: [] });
    expect(t.snapshot()).toEqual({ app: `"${'x'.repeat(10)}"`, $csrf: `"${'y'.repeat(10)}"` });
    // ... and counts: the app can no longer grow the session.
    expectTooLarge(() => t.set('b', 1));
    t.set('app', 'x'); // shrinking still works
    expect(t.serializedSize()).toBe(23);
    t.set('b', 1); // b + 1 = 2 -> 25
    t.markDeltaCommitted(t.delta());
    // At commit, only the app's growth is refused.
    const u = tracker({ list: [], $rot: 1 }, 20); // list + [] = 6, $rot + 1 = 5: 11
    u.set('$rot', 1_000_000_000_000); // $rot + 13 = 17: 23, over, by the module: committed
    expect(u.delta()).toEqual({ set: { $rot: '1000000000000' }, unset: [] });
    expect(u.snapshot()).toEqual({ list: '[]', $rot: '1000000000000' });
    (u.get('list') as string[]).push('x'.repeat(10)); // the app grows it in place: 11 + 12
    expectTooLarge(() => u.delta());
    expectTooLarge(() => u.snapshot());
  });

  it('a deep mutation past the bound is caught at delta() and snapshot(), the commit points', () => {
    const t = tracker({ cart: ['apple'] }, 50);
    const cart = t.get('cart') as string[];
    cart.push('x'.repeat(60));
    // set() cannot see it (the value was not re-serialized) ...
    t.set('small', 1);
    // ... the commit does
    expectTooLarge(() => t.delta());
    expectTooLarge(() => t.snapshot());
    // once the app undoes it, the same tracker commits
    cart.pop();
    expect(t.delta()).toEqual({ set: { small: '1' }, unset: [] });
  });

  it('a value grown in place after set() is caught at commit too, for a new session', () => {
    const t = new ChangeTracker({}, 40);
    const list: string[] = [];
    t.set('list', list);
    list.push('x'.repeat(50));
    expectTooLarge(() => t.snapshot());
    expectTooLarge(() => t.delta());
  });

  it('a session loaded over the bound (bound lowered since) can be read and shrunk, not grown', () => {
    const t = tracker({ a: 'x'.repeat(40), b: 'y'.repeat(40) }, 40); // 43 + 43 = 86
    expect(t.get('a')).toBe('x'.repeat(40));
    expect(t.delta()).toBeUndefined();
    expect(t.snapshot()).toEqual({ a: `"${'x'.repeat(40)}"`, b: `"${'y'.repeat(40)}"` });
    expectTooLarge(() => t.set('c', 1));
    t.set('a', 'x'); // shrinks to 47: allowed though still over
    expect(t.delta()).toEqual({ set: { a: '"x"' }, unset: [] });
    t.unset('b');
    expect(t.serializedSize()).toBe(4);
    t.set('c', 1);
    expect(t.delta()).toEqual({ set: { a: '"x"', c: '1' }, unset: ['b'] });
  });

  it('keeps counting right across commits and log-in resets', () => {
    const t = tracker({ a: 1, cart: ['apple'], views: 3 }, 1000);
    (t.get('cart') as string[]).push('pear');
    t.set('b', 'two');
    t.markDeltaCommitted(t.delta());
    expect(t.serializedSize()).toBe(bytesOf(t.snapshot()));
    t.unset('a');
    t.markCommitted();
    expect(t.serializedSize()).toBe(bytesOf(t.snapshot()));
    t.reset(['cart']);
    expect(t.snapshot()).toEqual({ cart: '["apple","pear"]' });
    expect(t.serializedSize()).toBe(bytesOf(t.snapshot()));
  });

  it('without a bound, nothing is refused', () => {
    const t = new ChangeTracker();
    t.set('big', 'x'.repeat(1_000_000));
    expect(t.serializedSize()).toBe(3 + 1_000_002);
  });
});

describe('RequestSession key rules', () => {
  // The hooks the session calls are no-ops here: these tests are about the session's own rules.
  const session = () => freshSession(NO_HOOKS, { idleTimeoutMs: 1000, absoluteTimeoutMs: 2000 });

  it('refuses prototype-polluting and empty keys, and non-JSON values, at set()', () => {
    const s = session();
    for (const key of ['__proto__', 'constructor', 'prototype', ''])
      expect(() => s.set(key, 1)).toThrow(TypeError);
    expect(() => s.set('n', 10n)).toThrow(/not JSON-serializable/);
    expect(() => s.set('fn', () => 1)).toThrow(/no JSON form/);
    expect(s.keys()).toEqual([]);
    expect(s.hasContent).toBe(false);
  });

  it('treats set(key, undefined) as removing the key: a new session stays empty', () => {
    const s = session();
    s.set('a', undefined);
    expect(s.has('a')).toBe(false);
    expect(s.keys()).toEqual([]);
    expect(s.hasContent).toBe(false);
    s.set('b', 1);
    s.set('b', undefined);
    expect(s.keys()).toEqual([]);
  });

  it('logIn starts clean except the kept keys, and marks the session for rotation', async () => {
    const s = session();
    s.set('cart', ['apple']);
    s.set('views', 3);
    await s.logIn({ userId: 7, roles: ['user'], keep: ['cart'] });
    expect(s.keys()).toEqual(['cart']);
    expect(s.userId).toBe('7');
    expect(s.requestedRotation).toBe('login');
  });

  it('set() over maxSessionBytes throws a 413; the previous value of the key remains', () => {
    const s = freshSession(NO_HOOKS, {
      idleTimeoutMs: 1000,
      absoluteTimeoutMs: 2000,
      maxSessionBytes: 100,
    });
    s.set('theme', 'dark');
    expectTooLarge(() => s.set('theme', 'x'.repeat(200)));
    expectTooLarge(() => s.set('other', 'x'.repeat(200)));
    expect(s.get('theme')).toBe('dark');
    expect(s.keys()).toEqual(['theme']);
    s.set('lang', 'fr');
    expect(s.keys()).toEqual(['theme', 'lang']);
  });

  it('a change of roles is a privilege change (rotation); the same roles are not', () => {
    const s = session();
    s.setRoles([]);
    expect(s.requestedRotation).toBeUndefined();
    s.setRoles(['admin']);
    expect(s.requestedRotation).toBe('privilege');
  });
});

describe('ChangeTracker.markDeltaCommitted', () => {
  const key = fc.constantFrom('a', 'b', 'c', 'd');
  const value = fc.oneof(
    fc.integer(),
    fc.string({ maxLength: 3 }),
    fc.array(fc.integer(), { maxLength: 2 }),
    fc.constant(undefined),
    fc.constant({ fn: () => 1 }), // JSON drops the nested function: stored as {}
  );
  const op = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), key, value }),
    fc.record({ kind: fc.constant('unset' as const), key }),
    fc.record({ kind: fc.constant('get' as const), key }),
    fc.record({ kind: fc.constant('mutate' as const), key }),
  );
  type Op = { kind: 'set' | 'unset' | 'get' | 'mutate'; key: string; value?: unknown };
  const apply = (t: ChangeTracker, ops: Op[]) => {
    for (const o of ops) {
      if (o.kind === 'set') t.set(o.key, o.value);
      else if (o.kind === 'unset') t.unset(o.key);
      else if (o.kind === 'get') t.get(o.key);
      else {
        const current = t.get(o.key);
        if (Array.isArray(current)) current.push(1);
      }
    }
  };

  it('leaves the tracker exactly as a full markCommitted() would, for later deltas too', () => {
    fc.assert(
      fc.property(
        fc.dictionary(key, fc.oneof(fc.integer(), fc.array(fc.integer(), { maxLength: 2 }))),
        fc.array(op, { maxLength: 8 }),
        fc.array(op, { maxLength: 8 }),
        (initial, before, after) => {
          const serialized = Object.fromEntries(
            Object.entries(initial).map(([k, v]) => [k, JSON.stringify(v)]),
          );
          const full = new ChangeTracker(serialized);
          const fast = new ChangeTracker(serialized);
          apply(full, before as Op[]);
          apply(fast, before as Op[]);
          full.markCommitted();
          fast.markDeltaCommitted(fast.delta());
          expect(fast.snapshot()).toEqual(full.snapshot());
          expect(fast.delta()).toEqual(full.delta());
          apply(full, after as Op[]);
          apply(fast, after as Op[]);
          expect(fast.delta()).toEqual(full.delta());
          expect(fast.snapshot()).toEqual(full.snapshot());
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('ChangeTracker.serializedSize', () => {
  const key = fc.constantFrom('a', 'b', 'é', '$k');
  const value = fc.oneof(
    fc.integer(),
    fc.string({ maxLength: 5 }),
    fc.array(fc.integer(), { maxLength: 3 }),
    fc.constant(undefined),
    fc.constant({ fn: () => 1 }),
  );
  const op = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), key, value }),
    fc.record({ kind: fc.constant('unset' as const), key }),
    fc.record({ kind: fc.constant('get' as const), key }),
    fc.record({ kind: fc.constant('commit' as const) }),
    fc.record({ kind: fc.constant('deltaCommit' as const) }),
    fc.record({ kind: fc.constant('reset' as const), key }),
  );

  it('always equals the size of what a full snapshot would store (incremental accounting)', () => {
    fc.assert(
      fc.property(
        fc.dictionary(key, fc.oneof(fc.integer(), fc.string({ maxLength: 5 }))),
        fc.array(op, { maxLength: 12 }),
        (initial, ops) => {
          const t = tracker(initial);
          expect(t.serializedSize()).toBe(bytesOf(t.snapshot()));
          for (const o of ops as Array<{ kind: string; key?: string; value?: unknown }>) {
            if (o.kind === 'set') t.set(o.key!, o.value);
            else if (o.kind === 'unset') t.unset(o.key!);
            else if (o.kind === 'get') t.get(o.key!);
            else if (o.kind === 'commit') t.markCommitted();
            else if (o.kind === 'deltaCommit') t.markDeltaCommitted(t.delta());
            else t.reset([o.key!]);
            expect(t.serializedSize()).toBe(bytesOf(t.snapshot()));
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('a set() is refused exactly when it would take the session over the bound', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.array(fc.tuple(key, fc.string({ maxLength: 30 })), { maxLength: 10 }),
        (limit, writes) => {
          const t = new ChangeTracker({}, limit);
          for (const [k, v] of writes) {
            const before = t.snapshot();
            const after = { ...before, [k]: JSON.stringify(v) };
            // Module keys ($...) count, but only the app's writes are refused.
            const grows = bytesOf(after) > bytesOf(before) && !k.startsWith('$');
            if (bytesOf(after) > limit && grows) {
              expectTooLarge(() => t.set(k, v));
              expect(t.snapshot()).toEqual(before);
            } else {
              t.set(k, v);
              expect(t.snapshot()).toEqual(after);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
