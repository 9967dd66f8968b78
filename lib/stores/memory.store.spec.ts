import { describe, expect, it } from '@jest/globals';
import { runSessionStoreContract } from '../../test/stores/session-store.contract.js';
import { MemoryStore } from './memory.store.js';
import type { SessionRecord } from './session-record.js';

runSessionStoreContract('MemoryStore', async () => {
  const store = new MemoryStore();
  return { store, close: () => store.close() };
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
