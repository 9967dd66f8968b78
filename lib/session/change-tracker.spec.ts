import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ChangeTracker, isForbiddenKey, serialize } from './change-tracker.js';
import { RequestSession, type SessionPersistence } from './request-session.js';

const tracker = (data: Record<string, unknown>) => {
  const serialized: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) serialized[k] = JSON.stringify(v);
  return new ChangeTracker(serialized);
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
  });
});

describe('RequestSession key rules', () => {
  // Any persistence hook the session calls is a no-op here: these tests are about the session's own rules.
  const persistence = new Proxy({}, { get: () => async () => {} }) as SessionPersistence;
  const session = () =>
    new RequestSession(
      persistence,
      { idleTimeoutMs: 1000, absoluteTimeoutMs: 2000 },
      undefined,
      undefined,
      Date.now(),
    );

  it('refuses prototype-polluting and empty keys, and non-JSON values, at set()', () => {
    const s = session();
    for (const key of ['__proto__', 'constructor', 'prototype', ''])
      expect(() => s.set(key, 1)).toThrow(TypeError);
    expect(() => s.set('n', 10n)).toThrow(/not JSON-serializable/);
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
    expect(s.pendingRotation).toBe('login');
  });

  it('a change of roles is a privilege change (rotation); the same roles are not', () => {
    const s = session();
    s.setRoles([]);
    expect(s.pendingRotation).toBeUndefined();
    s.setRoles(['admin']);
    expect(s.pendingRotation).toBe('privilege');
  });
});

describe('ChangeTracker.markDeltaCommitted', () => {
  const key = fc.constantFrom('a', 'b', 'c', 'd');
  const value = fc.oneof(
    fc.integer(),
    fc.string({ maxLength: 3 }),
    fc.array(fc.integer(), { maxLength: 2 }),
    fc.constant(undefined),
    fc.constant(() => 1), // no JSON form: removes the key
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
