import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { SESSION_ID_PATTERN } from '../session/session-id.js';

/** `id.signature`: 43 + 1 + 43 characters. */
export const SIGNED_ID_LENGTH = 87;

/** The outcome of checking a cookie value. */
export interface VerifiedId {
  id: string;
  /** True when a retired secret (not the first) signed it: the cookie should be re-issued. */
  signedWithRetiredSecret: boolean;
}

/**
 * Signs session IDs as `id.signature` with the first secret and verifies them
 * against every secret of the list, so secrets can be rotated without logging
 * anybody out (DESIGN rule 1).
 */
export class CookieSigner {
  /** Secrets imported once as key objects: cheaper per HMAC than string keys. */
  private readonly keys: readonly KeyObject[];

  constructor(secrets: readonly string[]) {
    if (secrets.length === 0) throw new TypeError('CookieSigner needs at least one secret');
    this.keys = secrets.map((secret) => createSecretKey(Buffer.from(secret, 'utf8')));
  }

  sign(id: string): string {
    return `${id}.${this.mac(this.keys[0], id).toString('base64url')}`;
  }

  /** The ID inside a well-formed, correctly signed value, or `null`. Never throws. */
  verify(value: string): VerifiedId | null {
    // Shape first: cheap, and it keeps hostile input away from the HMAC.
    if (typeof value !== 'string' || value.length !== SIGNED_ID_LENGTH) return null;
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
    return { id, signedWithRetiredSecret: matched > 0 };
  }

  private mac(key: KeyObject, id: string): Buffer {
    return createHmac('sha256', key).update(id).digest();
  }
}
