import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { CSRF_SECRET_KEY } from '../session/internal-keys.js';

/** Where a session keeps its CSRF secret: the module-owned keys of a request session. */
export interface CsrfSecretHolder {
  internalGet(key: string): unknown;
  internalSet(key: string, value: string): void;
}

const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/**
 * Synchronizer tokens bound to a session: each session holds a random
 * secret, and its token is the HMAC of that secret under the module's
 * signing secrets. A token of another session, or of this session before
 * `logIn()` (which renews the secret), never verifies.
 */
export class CsrfTokens {
  constructor(private readonly secrets: readonly string[]) {}

  /** The session's token; creates the session's secret (a session write) on first use. */
  tokenFor(session: CsrfSecretHolder): string {
    const stored = session.internalGet(CSRF_SECRET_KEY);
    let secret: string;
    if (typeof stored === 'string') {
      secret = stored;
    } else {
      secret = randomBytes(32).toString('base64url');
      session.internalSet(CSRF_SECRET_KEY, secret);
    }
    return this.mac(this.secrets[0], secret).toString('base64url');
  }

  /** Whether `token` is this session's current token. Constant time; never throws. */
  verify(session: CsrfSecretHolder, token: unknown): boolean {
    const secret = session.internalGet(CSRF_SECRET_KEY);
    if (typeof secret !== 'string' || typeof token !== 'string' || !TOKEN_PATTERN.test(token)) {
      return false;
    }
    const given = Buffer.from(token, 'base64url');
    if (given.length !== 32) return false;
    let ok = false;
    for (const key of this.secrets) ok = timingSafeEqual(given, this.mac(key, secret)) || ok;
    return ok;
  }

  private mac(key: string, secret: string): Buffer {
    return createHmac('sha256', key).update(`csrf:${secret}`).digest();
  }
}
