import type { PlatformRequest } from '../http/platform-request.js';

/** Methods that must not change state, so need no CSRF check (RFC 9110 safe methods). */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/** A request as the CSRF checks read it: headers and the method. */
export interface OriginCheckRequest extends PlatformRequest {
  method?: string;
}

/** Decides whether an origin is the app's own; a guard passes its overridable `isOwnOrigin`. */
export type OwnOriginTest = (origin: string, request: OriginCheckRequest) => boolean;

/** Whether the request's method is safe (GET, HEAD, OPTIONS, TRACE), so exempt from CSRF checks. */
export function isSafeMethod(request: OriginCheckRequest): boolean {
  return SAFE_METHODS.has((request.method ?? 'GET').toUpperCase());
}

/**
 * The origin half of the CSRF defence, shared by `CsrfGuard` and
 * `SameOriginGuard`: Fetch Metadata and Origin, as a browser sends them.
 *
 * - `Origin: null` (sandboxed frame, `data:` URL, cross-origin redirect) is refused;
 * - an allow-listed Origin passes, whatever `Sec-Fetch-Site` says (a front
 *   end on another site is what the allow-list is for);
 * - any other Origin must be the app's own (`isOwnOrigin`);
 * - `Sec-Fetch-Site: cross-site` is refused, and `same-site` without an
 *   Origin to hold against the allow-list too (a sibling subdomain is not us).
 *
 * A request with neither header (curl, a server-side client) passes: no
 * browser sent it, so no victim's cookies ride along.
 *
 * @param allowedOrigins lower-cased origins, as the resolved options hold them.
 */
export function isAllowedOrigin(
  request: OriginCheckRequest,
  allowedOrigins: readonly string[],
  isOwnOrigin: OwnOriginTest = isHostOrigin,
): boolean {
  const site = requestHeader(request, 'sec-fetch-site');
  const origin = requestHeader(request, 'origin')?.toLowerCase();
  if (origin !== undefined) {
    if (origin === 'null') return false;
    if (allowedOrigins.includes(origin)) return true;
    if (!isOwnOrigin(origin, request)) return false;
  }
  if (site === 'cross-site') return false;
  if (site === 'same-site' && origin === undefined) return false;
  return true;
}

/**
 * The default own-origin test: the same host (and port) the request was sent
 * to, over http or https. Behind a proxy that rewrites Host, list the public
 * origin in `csrf.allowedOrigins` or override the guard's `isOwnOrigin`.
 */
export function isHostOrigin(origin: string, request: OriginCheckRequest): boolean {
  const host = requestHeader(request, 'host')?.toLowerCase();
  if (!host) return false;
  return origin === `http://${host}` || origin === `https://${host}`;
}

/** One header value; a repeated header counts by its first value, as Node reads Host. */
export function requestHeader(request: OriginCheckRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
