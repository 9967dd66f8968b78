import assert from 'node:assert/strict';
import { key, sleep, type ContractCases } from './contract-fixtures.js';

/** The optional fixed-window counter behind the guessing defence. */
export function counterCases({ it }: ContractCases): void {
  it('incrementCounter (when the store has it) counts per key in a fixed window, then starts over', async (store) => {
    if (!store.incrementCounter) return; // optional method
    const [k, other] = [`ip:${key()}`, `ip:${key()}`];
    assert.equal(await store.incrementCounter(k, 300), 1);
    assert.equal(await store.incrementCounter(k, 300), 2);
    assert.equal(await store.incrementCounter(other, 300), 1, 'each key counts on its own');
    assert.equal(await store.incrementCounter(k, 300), 3);
    await sleep(400);
    assert.equal(await store.incrementCounter(k, 300), 1, 'a new window starts at 1');
  });
}
