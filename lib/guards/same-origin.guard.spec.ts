import { describe, expect, it } from '@jest/globals';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { SessionEvents } from '../events/session-events.js';
import type { SessionContexts } from '../http/session-contexts.js';
import { SessionEngine } from '../session/session.engine.js';
import { CsrfForbiddenException } from '../session.exceptions.js';
import { resolveSessionOptions } from '../session.options.js';
import { CsrfGuard, type CsrfRequest } from './csrf.guard.js';
import { SameOriginGuard } from './same-origin.guard.js';

const ALLOWED = 'https://app.example.com';
const engine = new SessionEngine(
  resolveSessionOptions({
    secret: 'same-origin-guard-spec-secret-0123456789',
    csrf: { allowedOrigins: ['https://APP.example.com'] }, // stored lower-cased
  }),
  new SessionEvents(),
);

type Headers = CsrfRequest['headers'];
const contextOf = (method: string, headers: Headers) =>
  new ExecutionContextHost([{ method, headers: { host: 'api.example.com', ...headers } }, {}]);

/** true when the guard lets the request through, 'csrf' when it refuses with CsrfGuard's 403. */
function decide(guard: SameOriginGuard, method: string, headers: Headers): boolean | string {
  try {
    return guard.canActivate(contextOf(method, headers));
  } catch (error) {
    if (!(error instanceof CsrfForbiddenException)) throw error;
    expect(error.getStatus()).toBe(403);
    return (error.getResponse() as { reason: string }).reason;
  }
}

/**
 * The guard alone, without an app: what the e2e spec
 * (test/e2e/login-csrf.e2e.spec.ts) cannot reach through the sample's routes.
 */
describe('SameOriginGuard', () => {
  const guard = new SameOriginGuard(engine);

  it('lets safe methods through whatever their origin, and checks every other method', () => {
    const evil = { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' };
    for (const method of ['GET', 'head', 'OPTIONS', 'TRACE']) {
      expect(decide(guard, method, evil)).toBe(true);
    }
    for (const method of ['POST', 'put', 'PATCH', 'DELETE', 'PROPFIND']) {
      expect({ method, decision: decide(guard, method, evil) }).toEqual({
        method,
        decision: 'csrf',
      });
    }
  });

  it("accepts the app's own origin (Host) and the allow-list, case-insensitively, and nothing else", () => {
    expect(decide(guard, 'POST', { origin: 'https://API.example.com' })).toBe(true);
    expect(decide(guard, 'POST', { origin: 'http://api.example.com' })).toBe(true);
    expect(decide(guard, 'POST', { origin: ALLOWED, 'sec-fetch-site': 'cross-site' })).toBe(true);
    expect(decide(guard, 'POST', { origin: 'https://api.example.com:8443' })).toBe('csrf');
    expect(decide(guard, 'POST', { origin: 'https://example.com' })).toBe('csrf');
    // without a Host there is no own origin to match
    const noHost = new ExecutionContextHost([
      { method: 'POST', headers: { origin: 'https://x' } },
      {},
    ]);
    expect(() => guard.canActivate(noHost)).toThrow(CsrfForbiddenException);
  });

  it('reads a repeated header by its first value', () => {
    expect(decide(guard, 'POST', { origin: ['null', 'https://api.example.com'] })).toBe('csrf');
    expect(decide(guard, 'POST', { 'sec-fetch-site': ['cross-site', 'same-origin'] })).toBe('csrf');
    expect(decide(guard, 'POST', { origin: ['https://api.example.com', 'null'] })).toBe(true);
  });

  it('uses an overridden isOwnOrigin (e.g. the public origin behind a proxy that rewrites Host)', () => {
    class ProxiedGuard extends SameOriginGuard {
      protected override isOwnOrigin(origin: string): boolean {
        return origin === 'https://www.example.com';
      }
    }
    const proxied = new ProxiedGuard(engine);
    expect(decide(proxied, 'POST', { origin: 'https://www.example.com' })).toBe(true);
    expect(decide(proxied, 'POST', { origin: 'https://api.example.com' })).toBe('csrf');
  });
});

/**
 * CsrfGuard now runs the same shared check (lib/csrf/origin-check.ts); its
 * `protected isAllowedOrigin/isOwnOrigin` must stay the points to override.
 */
describe('CsrfGuard origin checks (shared with SameOriginGuard)', () => {
  class ProbeGuard extends CsrfGuard {
    constructor(private readonly ownOrigin?: string) {
      super(undefined as unknown as SessionContexts, engine);
    }
    allows(headers: Headers): boolean {
      return this.isAllowedOrigin({
        method: 'POST',
        headers: { host: 'api.example.com', ...headers },
      });
    }
    protected override isOwnOrigin(origin: string, request: CsrfRequest): boolean {
      return this.ownOrigin === undefined
        ? super.isOwnOrigin(origin, request)
        : origin === this.ownOrigin;
    }
  }

  it('decides as SameOriginGuard does, header for header', () => {
    const probe = new ProbeGuard();
    const cases: Headers[] = [
      {},
      { 'sec-fetch-site': 'same-origin' },
      { 'sec-fetch-site': 'none' },
      { 'sec-fetch-site': 'same-site' },
      { 'sec-fetch-site': 'cross-site' },
      { origin: 'null' },
      { origin: 'https://api.example.com' },
      { origin: 'https://api.example.com', 'sec-fetch-site': 'cross-site' },
      { origin: ALLOWED, 'sec-fetch-site': 'cross-site' },
      { origin: `${ALLOWED}.evil.example` },
    ];
    const same = new SameOriginGuard(engine);
    for (const headers of cases) {
      expect({ headers, allowed: probe.allows(headers) }).toEqual({
        headers,
        allowed: decide(same, 'POST', headers) === true,
      });
    }
  });

  it('still consults an overridden isOwnOrigin', () => {
    const proxied = new ProbeGuard('https://www.example.com');
    expect(proxied.allows({ origin: 'https://www.example.com' })).toBe(true);
    expect(proxied.allows({ origin: 'https://api.example.com' })).toBe(false);
  });
});
