import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { SESSION_ID_PATTERN, sessionStoreKey } from '../session/session-id.js';

/** `id.signature`: 43 + 1 + 43 characters. */
export const SIGNED_ID_LENGTH = 87;

/**
 * How many recently verified values are remembered. A few MB at most; more
 * concurrent sessions than this per instance just means more HMACs.
 */
export const REMEMBERED_VERIFICATIONS = 10_000;

/** The outcome of checking a cookie value. */
export interface VerifiedId {
  readonly id: string;
  /** Its store key (SHA-256 of the ID), worked out once per remembered value. */
  readonly key: string;
  /** True when a retired secret (not the first) signed it: the cookie should be re-issued. */
  readonly signedWithRetiredSecret: boolean;
}

/**
 * Signs session IDs as `id.signature` with the first secret and verifies them
 * against every secret of the list, so secrets can be rotated without logging
 * anybody out. Only an ID this module minted and signed is ever looked up: a
 * client's own ID is never adopted.
 */
export class CookieSigner {
  /** Secrets imported once as key objects: cheaper per HMAC than string keys. */
  private readonly keys: readonly KeyObject[];
  /**
   * Values that verified lately, with their outcome. Verification is a pure
   * function of the value and the (fixed) secrets, so remembering successes
   * changes no answer; it saves the HMAC, the largest cost of an
   * authenticated request, for a cookie seen again. The store lookup that
   * follows still decides whether the session lives. Only values that
   * verified are kept, so hostile input cannot grow it; oldest out first.
   */
  private readonly verified = new Map<string, VerifiedId>();

  constructor(
    secrets: readonly string[],
    private readonly remember = REMEMBERED_VERIFICATIONS,
  ) {
    if (secrets.length === 0) throw new TypeError('CookieSigner needs at least one secret');
    this.keys = secrets.map((secret) => createSecretKey(Buffer.from(secret, 'utf8')));
  }

  /** How many verified values are remembered now (at most `remember`). */
  get rememberedCount(): number {
    return this.verified.size;
  }

  sign(id: string): string {
    return `${id}.${this.mac(this.keys[0], id).toString('base64url')}`;
  }

  /** The ID inside a well-formed, correctly signed value, or `null`. Never throws. */
  verify(value: string): VerifiedId | null {
    // Shape first: cheap, and it keeps hostile input away from the HMAC.
    if (typeof value !== 'string' || value.length !== SIGNED_ID_LENGTH) return null;
    const known = this.verified.get(value);
    if (known) return known;
    if (value.charCodeAt(43) !== 0x2e /* . */) return null;
    const id = value.slice(0, 43);
    const signature = value.slice(44);
    if (!SESSION_ID_PATTERN.test(id) || !SESSION_ID_PATTERN.test(signature)) return null;
    const given = Buffer.from(signature, 'base64url');
    // base64url of 32 bytes must re-encode identically (rejects non-canonical last characters).
    if (given.length !== 32 || given.toString('base64url') !== signature) return null;
    let matched = -1;
    // Check every secret, without stopping early, so timing says nothing about which one matched.
    for (let i = 0; i < this.keys.length; i++) {
      if (timingSafeEqual(given, this.mac(this.keys[i], id)) && matched === -1) matched = i;
    }
    if (matched === -1) return null;
    // Frozen: the same object answers every later verification of this value.
    const result: VerifiedId = Object.freeze({
      id,
      key: sessionStoreKey(id),
      signedWithRetiredSecret: matched > 0,
    });
    if (this.verified.size >= this.remember) {
      this.verified.delete(this.verified.keys().next().value!);
    }
    this.verified.set(value, result);
    return result;
  }

  private mac(key: KeyObject, id: string): Buffer {
    return createHmac('sha256', key).update(id).digest();
  }
}
