import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';
import { RandomPool } from './random-pool.js';

/** One-shot `crypto.hash` (Node >= 20.12) is several times faster than createHash for short input. */
const oneShotHash = (
  crypto as { hash?: (algorithm: string, data: string, encoding: string) => string }
).hash;

/** 32 random bytes (256 bits) as base64url: 43 characters. */
export const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

const random = new RandomPool();

/** Mints a fresh session ID: IDs come from here only, never from a client. */
export function generateSessionId(): string {
  return random.base64url(32);
}

/**
 * The store key of a session: SHA-256 of its ID. A dump of the store holds
 * no usable ID, so it logs nobody in.
 */
export function sessionStoreKey(id: string): string {
  return oneShotHash
    ? oneShotHash('sha256', id, 'base64url')
    : createHash('sha256').update(id).digest('base64url');
}

/** An opaque public name for listings, unrelated to the ID. */
export function generateSessionHandle(): string {
  return random.base64url(16);
}
