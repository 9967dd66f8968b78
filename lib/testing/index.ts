/**
 * `nest-session-manager/testing`: helpers for tests, kept out of the main
 * entry so that an app's production bundle never loads them.
 */

/** The store contract suite (runner-agnostic), and what it takes. */
export {
  runSessionStoreContract,
  type SessionStoreContractOptions,
  type ContractDescribe,
  type ContractIt,
  type ContractHook,
} from './store-contract.js';
/** A logged-in session made directly in an app's store, and the Cookie header that names it. */
export { createSessionCookie, type SessionCookieLogin } from './session-cookie.js';
