import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { SessionContexts } from '../http/session-contexts.js';
import type { PlatformRequest } from '../http/http-binding.js';
import type { RequestSession } from '../session/request-session.js';
import { SessionEngine } from '../session/session.engine.js';
import { CsrfForbiddenException } from '../session.exceptions.js';

/** Methods that must not change state, so need no CSRF check (RFC 9110 safe methods). */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);
/** Header that carries the token (a cross-site form cannot set custom headers). */
export const CSRF_HEADER = 'x-csrf-token';

interface CsrfRequest extends PlatformRequest {
  method?: string;
}

/**
 * CSRF defence for unsafe methods, in depth:
 * 1. Fetch Metadata: `Sec-Fetch-Site: cross-site` (or `same-site` from an
 *    origin not allowed) is refused;
 * 2. Origin: `null`, or an origin other than the app's own (its Host) and
 *    the allow-list, is refused;
 * 3. Token: header `x-csrf-token` must be this session's synchronizer token
 *    (`session.csrfToken`), bound to the session and renewed at log-in.
 * A request with neither Origin nor Fetch Metadata (curl, a server) is
 * judged by its token alone. Refusals are 403 with `reason: "csrf"`.
 */
@Injectable()
export class CsrfGuard implements CanActivate {
  constructor(
    protected readonly contexts: SessionContexts,
    protected readonly engine: SessionEngine,
  ) {}

  async canActivate(executionContext: ExecutionContext): Promise<boolean> {
    const context = this.contexts.fromExecutionContext(executionContext);
    const request = executionContext.switchToHttp().getRequest<CsrfRequest>();
    if (SAFE_METHODS.has((request.method ?? 'GET').toUpperCase())) return true;
    if (!this.isAllowedOrigin(request))
      throw new CsrfForbiddenException('Cross-origin request refused');
    const session = await context.session();
    if (!this.hasValidToken(session, request))
      throw new CsrfForbiddenException('Missing or invalid CSRF token');
    return true;
  }

  /** Fetch Metadata and Origin checks; absent headers defer to the token. */
  protected isAllowedOrigin(request: CsrfRequest): boolean {
    const site = header(request, 'sec-fetch-site');
    const origin = header(request, 'origin')?.toLowerCase();
    if (origin !== undefined) {
      if (origin === 'null') return false;
      // An allow-listed front end may live on another site (Sec-Fetch-Site: cross-site).
      if (this.engine.options.csrfAllowedOrigins.includes(origin)) return true;
      if (!this.isOwnOrigin(origin, request)) return false;
    }
    if (site === 'cross-site') return false;
    if (site === 'same-site' && origin === undefined) return false;
    return true;
  }

  protected isOwnOrigin(origin: string, request: CsrfRequest): boolean {
    const host = header(request, 'host')?.toLowerCase();
    if (!host) return false;
    // The app's own origin: same host (and port) as the request was sent to.
    return origin === `http://${host}` || origin === `https://${host}`;
  }

  protected hasValidToken(session: RequestSession, request: CsrfRequest): boolean {
    return this.engine.csrf.verify(session, header(request, CSRF_HEADER));
  }
}

function header(request: CsrfRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
