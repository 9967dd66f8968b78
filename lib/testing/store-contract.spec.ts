import { describe, expect, it } from '@jest/globals';
import { MemoryStore } from '../stores/memory.store.js';
import type { SessionStore } from '../stores/session-store.interface.js';
import { runSessionStoreContract, type SessionStoreContractOptions } from './index.js';

interface Collected {
  name: string;
  body: () => Promise<void>;
}

/**
 * Runs the contract through `describe`/`it` stand-ins that only collect the
 * cases, then runs every case (at once: each has keys of its own) and
 * answers which failed, so a spec can assert that a broken store is caught.
 */
async function runCollected<TStore extends SessionStore>(
  options: Omit<SessionStoreContractOptions<TStore>, 'name' | 'describe' | 'it'>,
) {
  const cases: Collected[] = [];
  const hooks: { before: Array<() => Promise<void>>; after: Array<() => Promise<void>> } = {
    before: [],
    after: [],
  };
  const path: string[] = [];
  runSessionStoreContract<TStore>({
    ...options,
    name: 'collected',
    describe: (name, body) => {
      path.push(name);
      try {
        body();
      } finally {
        path.pop();
      }
    },
    it: (name, body) => void cases.push({ name: [...path.slice(1), name].join(' > '), body }),
    ...(options.beforeEach && {
      beforeEach: (body) => void hooks.before.push(body),
      afterEach: (body) => void hooks.after.push(body),
    }),
  });
  const failed: string[] = [];
  const run = async ({ name, body }: Collected) => {
    try {
      for (const hook of hooks.before) await hook();
      await body();
    } catch (error) {
      failed.push(`${name}: ${(error as Error).message.split('\n')[0]}`);
    } finally {
      for (const hook of hooks.after) await hook();
    }
  };
  // With hooks the store lives in one variable of the suite: cases run one by one.
  if (options.beforeEach) for (const one of cases) await run(one);
  else await Promise.all(cases.map(run));
  return { names: cases.map((c) => c.name), failed: failed.sort() };
}

/** A MemoryStore (which has no `revokeAllForUser`) seen through a plain object, with `change` applied. */
function delegate(inner: MemoryStore, change: Partial<SessionStore> = {}): SessionStore {
  return {
    get: (key) => inner.get(key),
    set: (key, record, ttl) => inner.set(key, record, ttl),
    update: (key, patch, ttl) => inner.update(key, patch, ttl),
    rotate: (oldKey, newKey, record, ttl, options) =>
      inner.rotate(oldKey, newKey, record, ttl, options),
    destroy: (key) => inner.destroy(key),
    revoke: (key, at, ttl) => inner.revoke(key, at, ttl),
    listForUser: (userId) => inner.listForUser(userId),
    incrementCounter: (key, windowMs) => inner.incrementCounter(key, windowMs),
    close: () => inner.close(),
    ...change,
  };
}

describe('runSessionStoreContract', () => {
  it('passes a correct store (MemoryStore), case by case', async () => {
    const { names, failed } = await runCollected({ createStore: () => new MemoryStore() });
    expect(failed).toEqual([]);
    expect(names.length).toBeGreaterThanOrEqual(30);
    expect(names).toContain(
      'conditional rotate (logout must stick) > a forward is never extended: it dies after its own TTL, whatever is written through it',
    );
  });

  it('fails a store that ignores `unset` in delta writes, in exactly the cases that unset', async () => {
    const { failed } = await runCollected({
      createStore: () => {
        const inner = new MemoryStore();
        return delegate(inner, {
          update: (key, { unset: _ignored, ...patch }, ttl) => inner.update(key, patch, ttl),
        });
      },
    });
    expect(failed.map((line) => line.split(':')[0])).toEqual([
      'data key names that look like metadata stay data',
      'handles sessions with hundreds of keys (writes larger than one Redis call takes)',
      'update writes only the changed keys and keeps the others',
    ]);
  });

  it('fails a store that forgets to copy what it hands out', async () => {
    const { failed } = await runCollected({
      createStore: () => {
        const records = new Map<string, Awaited<ReturnType<SessionStore['get']>>>();
        const inner = new MemoryStore();
        return delegate(inner, {
          set: async (key, record, ttl) => {
            records.set(key, record);
            await inner.set(key, record, ttl);
          },
          get: async (key) => records.get(key) ?? inner.get(key),
        });
      },
    });
    expect(failed.some((line) => line.startsWith('never shares objects with the caller'))).toBe(
      true,
    );
  });

  it('passes a store without the optional methods: their cases skip themselves', async () => {
    const { failed } = await runCollected({
      createStore: () =>
        delegate(new MemoryStore(), { revokeAllForUser: undefined, incrementCounter: undefined }),
    });
    expect(failed).toEqual([]);
  });

  it("makes a store per case in the runner's hooks when given, and tears each down", async () => {
    let made = 0;
    let destroyed = 0;
    const { names, failed } = await runCollected({
      createStore: () => (made++, new MemoryStore()),
      destroyStore: async (store) => void (destroyed++, await store.close()),
      beforeEach: () => undefined,
      afterEach: () => undefined,
    });
    expect(failed).toEqual([]);
    expect([made, destroyed]).toEqual([names.length, names.length]);
  });

  it('says what is wrong with its options', () => {
    expect(() =>
      runSessionStoreContract({
        name: 'bad',
        createStore: () => new MemoryStore(),
        describe: undefined as never,
        it: () => undefined,
        beforeEach: () => undefined,
      }),
    ).toThrow(
      "runSessionStoreContract: describe must be the test runner's describe; pass both beforeEach and afterEach, or neither",
    );
  });
});
