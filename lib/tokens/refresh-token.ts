import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { generateSessionHandle, sessionStoreKey } from '../session/session-id.js';

/**
 * A refresh token: `<family handle>.<secret>`, the secret 256 random bits
 * (base64url, 43 characters). The handle only says which family to look in
 * (it is public: the `sid` claim of access tokens); the secret is what
 * proves possession. The store keeps SHA-256 digests, never the token.
 */
const REFRESH_TOKEN = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

/** A new family's handle (128 random bits, as a session handle). */
export function generateFamilyHandle(): string {
  return generateSessionHandle();
}

/** A fresh refresh token of `family`. */
export function generateRefreshToken(family: string): string {
  return `${family}.${randomBytes(32).toString('base64url')}`;
}

/** The family a well-formed refresh token names, or `undefined` for anything else. */
export function familyOf(token: unknown): string | undefined {
  if (typeof token !== 'string' || token.length !== 66) return undefined;
  return REFRESH_TOKEN.exec(token)?.[1];
}

/**
 * The store key of a family. Domain-separated from session keys (SHA-256
 * of a 43-character ID, which can hold no ':'), so no cookie can ever
 * address a family, nor a family a session.
 */
export function familyStoreKey(family: string): string {
  return sessionStoreKey(`refresh-family:${family}`);
}

/** What the store keeps of a refresh token: its SHA-256 (base64url). */
export function refreshTokenDigest(token: string): string {
  return sessionStoreKey(token);
}

const SEAL_INFO = 'nest-session-manager refresh successor v1';

/** An AES-256-GCM key only the holder of `token` can derive (HKDF-SHA256). */
function sealingKey(token: string): Buffer {
  return Buffer.from(hkdfSync('sha256', token, Buffer.alloc(0), SEAL_INFO, 32));
}

/**
 * Seals `successor` so that only the holder of `parent` can open it: what
 * the store keeps for the reuse grace, so that a retried refresh gets the
 * same successor back while a dump of the store still yields no token.
 */
export function sealSuccessor(parent: string, successor: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', sealingKey(parent), iv);
  const body = Buffer.concat([cipher.update(successor, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
}

/** The successor sealed by {@link sealSuccessor}, or `undefined` if it does not open with `parent`. */
export function openSuccessor(parent: string, sealed: string): string | undefined {
  const bytes = Buffer.from(sealed, 'base64url');
  if (bytes.length < 12 + 16 + 1) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', sealingKey(parent), bytes.subarray(0, 12));
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    const body = bytes.subarray(12, bytes.length - 16);
    return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}
