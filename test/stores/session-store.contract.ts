/**
 * The store contract suite now ships as `nest-session-manager/testing`
 * (lib/testing/store-contract.ts; the records its cases build are made in
 * lib/testing/contract/contract-fixtures.ts). Kept as a re-export for
 * anything still importing it from here.
 */
export {
  runSessionStoreContract,
  type SessionStoreContractOptions,
} from '../../lib/testing/index.js';
