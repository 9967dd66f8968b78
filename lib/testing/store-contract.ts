import type { SessionStore } from '../stores/session-store.interface.js';
import type { ContractCases } from './contract/contract-fixtures.js';
import { counterCases } from './contract/counter.cases.js';
import { expiryCases } from './contract/expiry.cases.js';
import { recordCases } from './contract/record.cases.js';
import { refreshCases } from './contract/refresh.cases.js';
import { rotationCases } from './contract/rotation.cases.js';
import { userIndexCases } from './contract/user-index.cases.js';

/** A test runner's `describe` (jest's from `@jest/globals`, or `node:test`'s). */
export type ContractDescribe = (name: string, body: () => void) => unknown;
/** A test runner's `it` / `test`: the case fails when `body` rejects. */
export type ContractIt = (name: string, body: () => Promise<void>) => unknown;
/** A test runner's `beforeEach` / `afterEach`. */
export type ContractHook = (body: () => Promise<void>) => unknown;

/** What {@link runSessionStoreContract} takes. */
export interface SessionStoreContractOptions<TStore extends SessionStore = SessionStore> {
  /** Names the suite: `SessionStore contract: <name>`. */
  name: string;
  /**
   * Makes the store under test. Called once per case, so cases never see
   * each other's state; a store on a shared server (Redis, a database) can
   * share one client and take a fresh key prefix each time.
   */
  createStore: () => TStore | Promise<TStore>;
  /** Tears down one store after its case. Default: `store.close?.()`. */
  destroyStore?: (store: TStore) => void | Promise<void>;
  /** The runner's `describe`. */
  describe: ContractDescribe;
  /** The runner's `it` (or `test`). */
  it: ContractIt;
  /**
   * The runner's `beforeEach`; with `afterEach`, the store is made and torn
   * down in these hooks (so the runner reports setup apart from the case).
   * Without them (pass both or neither), each case does it itself.
   */
  beforeEach?: ContractHook;
  /** The runner's `afterEach`; see `beforeEach`. */
  afterEach?: ContractHook;
}

/**
 * The behaviour every `SessionStore` must have, as one suite: whole and
 * delta writes, copies, TTLs, the per-user index and its cap, revocation
 * tombstones, conditional rotation with forwards, and the optional methods
 * (`revokeAllForUser`, `incrementCounter`, `redeemRefreshToken`:
 * refresh-token families, their rotation, reuse detection and races, and
 * `claimExpired` / `stats`: expiry claims and the active-session gauge; a
 * store without one passes those cases as it is). Runner-agnostic: assertions come from `node:assert`, the
 * caller passes its runner's `describe` and `it`. MemoryStore and RedisStore
 * are proven with exactly this suite.
 *
 * ```ts
 * import { describe, it } from 'node:test'; // or '@jest/globals'
 * runSessionStoreContract({ name: 'MyStore', createStore: () => new MyStore(), describe, it });
 * ```
 */
export function runSessionStoreContract<TStore extends SessionStore>(
  options: SessionStoreContractOptions<TStore>,
): void {
  const { name, createStore, describe, it, beforeEach, afterEach } = options;
  const problems = [
    typeof name !== 'string' && 'name must be a string',
    typeof createStore !== 'function' && 'createStore must be a function',
    typeof describe !== 'function' && "describe must be the test runner's describe",
    typeof it !== 'function' && "it must be the test runner's it",
    (beforeEach === undefined) !== (afterEach === undefined) &&
      'pass both beforeEach and afterEach, or neither',
  ].filter((problem) => problem !== false);
  if (problems.length > 0) {
    throw new TypeError(`runSessionStoreContract: ${problems.join('; ')}`);
  }
  const destroy = options.destroyStore ?? ((store: TStore) => store.close?.());

  describe(`SessionStore contract: ${name}`, () => {
    let current: TStore | undefined;
    if (beforeEach && afterEach) {
      beforeEach(async () => {
        current = await createStore();
      });
      afterEach(async () => {
        const store = current;
        current = undefined;
        if (store) await destroy(store);
      });
    }
    const cases: ContractCases = {
      describe,
      it: (caseName, body) =>
        it(caseName, async () => {
          if (beforeEach) {
            if (!current) throw new Error('createStore did not run (beforeEach failed?)');
            return body(current);
          }
          const store = await createStore();
          try {
            await body(store);
          } finally {
            await destroy(store);
          }
        }),
    };
    recordCases(cases);
    userIndexCases(cases);
    rotationCases(cases);
    counterCases(cases);
    refreshCases(cases);
    expiryCases(cases);
  });
}
