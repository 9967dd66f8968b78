import { SIGNED_ID_LENGTH } from '../cookie/cookie.signer.js';
import { parseDuration } from '../utils/duration.js';
import { CookieOptionsSchema } from './cookie-options.js';
import { RotationOptionsSchema } from './rotation-options.js';
import type { SessionOptionsSchema } from './session-options.js';

/** Browsers drop a cookie whose name and value together exceed 4096 bytes (RFC 6265 §6.1). */
const MAX_COOKIE_BYTES = 4096;

/**
 * Every rule that ties options together (or an option to the cookie format),
 * one message per broken rule. Each field's own validator has run before: a
 * rule whose inputs are invalid is skipped, their own messages name them.
 */
export function crossFieldProblems(options: SessionOptionsSchema): string[] {
  const problems: string[] = [];
  const idleTimeoutMs = parseDuration(options.idleTimeout);
  const absoluteTimeoutMs = parseDuration(options.absoluteTimeout);
  const touchAfterMs = parseDuration(options.touchAfter);
  if (idleTimeoutMs && absoluteTimeoutMs && absoluteTimeoutMs < idleTimeoutMs) {
    problems.push(
      `absoluteTimeout (${absoluteTimeoutMs} ms) must not be shorter than idleTimeout (${idleTimeoutMs} ms)`,
    );
  }
  if (idleTimeoutMs && touchAfterMs && touchAfterMs >= idleTimeoutMs) {
    problems.push(
      `touchAfter (${touchAfterMs} ms) must be shorter than idleTimeout (${idleTimeoutMs} ms)`,
    );
  }

  const { cookie, rotation } = options;
  if (cookie instanceof CookieOptionsSchema) {
    const { name, secure, sameSite, domain, path } = cookie;
    if (sameSite === 'none' && !secure) {
      problems.push(
        "cookie.sameSite 'none' requires cookie.secure: true (browsers reject it otherwise)",
      );
    }
    if (typeof name === 'string') {
      if (/^__(Host|Secure)-/i.test(name) && !secure) {
        problems.push(
          `cookie.name '${name}' has a __Host-/__Secure- prefix, which requires cookie.secure: true`,
        );
      }
      if (/^__Host-/i.test(name) && (domain !== undefined || path !== '/')) {
        problems.push(
          `cookie.name '${name}' has the __Host- prefix, which forbids cookie.domain and requires cookie.path '/'`,
        );
      }
      // The value is a signed ID of a fixed length: the name takes what is left.
      if (name.length + 1 + SIGNED_ID_LENGTH > MAX_COOKIE_BYTES) {
        problems.push('cookie.name is too long: name=value must fit in 4096 bytes');
      }
    }
  }

  if (rotation instanceof RotationOptionsSchema) {
    const everyMs = parseDuration(rotation.every);
    const graceMs = parseDuration(rotation.grace);
    if (everyMs && graceMs && graceMs >= everyMs) {
      problems.push('rotation.grace must be shorter than rotation.every');
    }
  }
  return problems;
}
