import type { AccessTokenPrincipal } from './access-token-principal.js';

/** Most tokens remembered at once (~1 KB each: the token string and its principal). */
const MAX_ENTRIES = 10_000;

/**
 * Access tokens already verified, until they expire. A client sends the
 * same access token on every request of its lifetime, and jose verifies
 * through WebCrypto (about 100 µs per HS256 token here, more than a whole
 * Fastify request), so a token is verified once and then looked up.
 *
 * Safe because the key is the exact token string: a hit is a token whose
 * signature and claims already passed, byte for byte; an entry is dropped
 * once `exp` (plus the clock tolerance) has passed; failures are never
 * remembered, so garbage cannot fill it. Revocation is not cached: with
 * `'strict'` the family is read from the store on every request.
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, { principal: AccessTokenPrincipal; until: number }>();

  constructor(private readonly clockToleranceMs: number) {}

  /** The principal of an already verified, unexpired token. */
  get(token: string, now: number): AccessTokenPrincipal | undefined {
    const entry = this.entries.get(token);
    if (entry === undefined) return undefined;
    if (entry.until <= now) {
      this.entries.delete(token);
      return undefined;
    }
    return entry.principal;
  }

  /** Remembers a token that just verified; its principal is frozen, so handlers share it safely. */
  add(token: string, principal: AccessTokenPrincipal): AccessTokenPrincipal {
    Object.freeze(principal.roles);
    Object.freeze(principal);
    if (this.entries.size >= MAX_ENTRIES) {
      // Oldest first (a Map iterates in insertion order): the one closest to expiry, usually.
      this.entries.delete(this.entries.keys().next().value!);
    }
    const until = principal.expiresAt.getTime() + this.clockToleranceMs;
    this.entries.set(token, { principal, until });
    return principal;
  }
}
