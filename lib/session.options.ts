import {
  IsBoolean,
  IsIn,
  IsOptional,
  IsString,
  Matches,
  ValidateBy,
  validateSync,
  type ValidationArguments,
  type ValidationError,
} from 'class-validator';
import { SIGNED_ID_LENGTH } from './cookie/cookie.signer.js';
import { SessionOptionsError } from './session.errors.js';
import { MemoryStore } from './stores/memory.store.js';
import type { SessionStore } from './stores/session-store.interface.js';
import { parseDuration, type Duration } from './utils/duration.js';

/** Cookie settings of {@link SessionModuleOptions}. */
export interface SessionCookieOptions {
  /** Cookie name. Default `'sid'`, or `'__Host-sid'` when `secure` (`'__Secure-sid'` if a `domain` is set). */
  name?: string;
  /** Send only over HTTPS. Default: `process.env.NODE_ENV === 'production'`. */
  secure?: boolean;
  /** SameSite attribute. Default `'lax'`; `'none'` requires `secure`. */
  sameSite?: 'lax' | 'strict' | 'none';
  /** Domain attribute. Default: none (host-only cookie). Not allowed with a `__Host-` name. */
  domain?: string;
  /** Path attribute. Default `'/'` (required for a `__Host-` name). */
  path?: string;
  /** Hide the cookie from page scripts. Default `true`. */
  httpOnly?: boolean;
}

/** Options of `SessionModule.forRoot()` / `forRootAsync()`, validated at startup. */
export interface SessionModuleOptions {
  /**
   * Secret(s) signing the session cookie, each at least 32 characters. With a
   * list, the first signs and all verify: put a new secret first to rotate,
   * and drop the old one once its cookies have expired. Required.
   */
  secret: string | string[];
  /** Where sessions are kept. Default: a new {@link MemoryStore} (one process only). */
  store?: SessionStore;
  /** Inactivity after which a session ends (sliding). Default `'30m'`. */
  idleTimeout?: Duration;
  /** Lifetime after which a session ends however active it is. Default `'8h'`. */
  absoluteTimeout?: Duration;
  /**
   * How stale the recorded activity may get before a read-only request writes
   * a touch. Default: half of `idleTimeout`. Lower is more precise and costs
   * more store writes: a session may end after `idleTimeout - touchAfter` of
   * real inactivity.
   */
  touchAfter?: Duration;
  /** Cookie settings. */
  cookie?: SessionCookieOptions;
  /**
   * What a request that needs its session gets while the store is unreachable.
   * `'fail-closed'` (default): 503 with Retry-After — nobody is let in or out
   * by mistake. `'anonymous'`: the request goes on as if it had no session, so
   * public pages keep working but logged-in users look logged out (guards
   * answer 401) until the store returns. Writes that cannot be saved answer
   * 503 in both modes: a log-in must never seem to succeed when it did not.
   */
  storeOutage?: 'fail-closed' | 'anonymous';
  /**
   * Bind each session to request properties: with `['user-agent']`, a request
   * whose User-Agent differs from the one the session was created with
   * revokes the session (401 `revoked`) and emits `hijack_suspected`. IP
   * binding is not offered: addresses change legitimately (mobile networks,
   * proxies, IPv6 privacy addresses). Default `[]`.
   */
  bindTo?: Array<'user-agent'>;
  /**
   * Guessing defence: a client (by address) that presents more than
   * `maxFailures` unknown or badly signed session IDs within `window` is
   * answered 429 on such requests (valid sessions from the same address are
   * never refused) and `brute_force_suspected` is emitted. `trustProxy`: how
   * many proxies in front of the app append to X-Forwarded-For (0: use the
   * TCP peer). Counted in the store, so it holds across instances. Default
   * `{ maxFailures: 100, window: '5m', trustProxy: 0 }`; `false` turns it off.
   */
  bruteForce?: false | { maxFailures?: number; window?: Duration; trustProxy?: number };
  /**
   * Periodic renewal (OWASP "renewal timeout"): a live session gets a new ID
   * once `every` has passed since its last rotation. For `grace` the old ID
   * still resolves to the new session (reads and writes), so requests the
   * client already had in flight are not logged out; then it dies.
   * Privilege rotations (log-in, role change, logout) never have a grace.
   * Default: off.
   */
  rotation?: { every: Duration; grace?: Duration };
  /**
   * Most bytes a session's data may take: the UTF-8 length of every
   * top-level key plus its JSON value, the module's own keys (`$csrf`, ...)
   * included (they count, but the module's own writes are never what gets
   * refused). The whole session is loaded on every request that uses it, so
   * this bounds what one client can make every one of its requests cost.
   * `session.set()` throws `SessionTooLargeException` (413, `reason:
   * 'session_too_large'`) for a write that would go over, leaving the session
   * as it was; a value grown in place (`session.get('cart').push(...)`) is
   * checked at commit, which then writes nothing and answers that 413
   * instead of the app's response. A session stored before the limit was
   * lowered can still be read and shrunk, never grown. A positive integer.
   * Default `65536` (64 KiB).
   */
  maxSessionBytes?: number;
  /** `CsrfGuard` settings. */
  csrf?: {
    /**
     * Origins (`https://app.example.com`) besides the app's own that may send
     * unsafe requests. Default `[]`: the app's own origin only.
     */
    allowedOrigins?: string[];
  };
}

/** The options after validation and defaults; what the rest of the module reads. */
export interface ResolvedSessionOptions {
  secrets: string[];
  store: SessionStore;
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  touchAfterMs: number;
  /**
   * How long an ended or revoked session's record outlives its end, so the
   * next request can be told why it ended (`idle_timeout`, `revoked`, ...).
   */
  endedRetentionMs: number;
  storeOutage: 'fail-closed' | 'anonymous';
  bindToUserAgent: boolean;
  csrfAllowedOrigins: string[];
  rotation: { everyMs: number; graceMs: number } | undefined;
  bruteForce: { maxFailures: number; windowMs: number; trustProxy: number } | undefined;
  maxSessionBytes: number;
  cookie: Required<Omit<SessionCookieOptions, 'domain'>> & { domain?: string };
}

const MIN_SECRET_LENGTH = 32;
/** RFC 6265 cookie-name token. */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const ENDED_RETENTION_MS = 60_000;
/**
 * Far above what sessions hold in practice (an authenticated session with a
 * CSRF secret and a few preferences is well under 1 KiB), low enough that a
 * full session stays cheap to load on every request (parsing 64 KiB of
 * values, 300 keys, took 0.13 ms on Node 20; measuring it at a write,
 * 0.05 ms) and that a MemoryStore full of them (100,000) is ~6.5 GB at worst.
 */
const DEFAULT_MAX_SESSION_BYTES = 64 * 1024;

function IsDuration() {
  return ValidateBy({
    name: 'isDuration',
    validator: {
      validate: (value: unknown) => parseDuration(value) !== undefined,
      defaultMessage: (args?: ValidationArguments) =>
        `${args?.property} must be a positive number of milliseconds or a string like '30m', '8h' (got ${JSON.stringify(args?.value)})`,
    },
  });
}

function IsPositiveInteger() {
  return ValidateBy({
    name: 'isPositiveInteger',
    validator: {
      validate: (value: unknown) => Number.isInteger(value) && (value as number) > 0,
      defaultMessage: (args?: ValidationArguments) =>
        `${args?.property} must be a positive integer (got ${typeof args?.value === 'string' ? JSON.stringify(args.value) : String(args?.value)})`,
    },
  });
}

function IsSecret() {
  return ValidateBy({
    name: 'isSecret',
    validator: {
      validate: (value: unknown) => {
        const list = Array.isArray(value) ? value : [value];
        return (
          list.length > 0 &&
          list.every((s) => typeof s === 'string' && s.length >= MIN_SECRET_LENGTH)
        );
      },
      defaultMessage: (args?: ValidationArguments) =>
        args?.value === undefined || args?.value === ''
          ? 'secret is required (a string of at least 32 characters, or a list of them)'
          : `secret must be at least ${MIN_SECRET_LENGTH} characters (every entry of the list)`,
    },
  });
}

function IsSessionStore() {
  return ValidateBy({
    name: 'isSessionStore',
    validator: {
      validate: (value: unknown) =>
        value === undefined ||
        (typeof value === 'object' &&
          value !== null &&
          ['get', 'set', 'update', 'rotate', 'destroy', 'revoke', 'listForUser'].every(
            (m) => typeof (value as Record<string, unknown>)[m] === 'function',
          )),
      defaultMessage: () =>
        'store must implement SessionStore (get, set, update, rotate, destroy, revoke, listForUser)',
    },
  });
}

class CookieOptionsSchema implements SessionCookieOptions {
  @IsOptional()
  @IsString()
  @Matches(COOKIE_NAME, { message: 'cookie.name must be a valid cookie name token' })
  name?: string;

  @IsOptional()
  @IsBoolean({ message: 'cookie.secure must be a boolean' })
  secure?: boolean;

  @IsOptional()
  @IsIn(['lax', 'strict', 'none'], { message: "cookie.sameSite must be 'lax', 'strict' or 'none'" })
  sameSite?: 'lax' | 'strict' | 'none';

  @IsOptional()
  @IsString({ message: 'cookie.domain must be a string' })
  @Matches(/^[A-Za-z0-9.-]+$/, { message: 'cookie.domain must be a host name' })
  domain?: string;

  @IsOptional()
  @IsString({ message: 'cookie.path must be a string' })
  @Matches(/^\/[\x21-\x3a\x3c-\x7e]*$/, {
    message: "cookie.path must start with '/' and contain no ';' or spaces",
  })
  path?: string;

  @IsOptional()
  @IsBoolean({ message: 'cookie.httpOnly must be a boolean' })
  httpOnly?: boolean;
}

class SessionOptionsSchema {
  @IsSecret()
  secret!: string | string[];

  @IsSessionStore()
  store?: SessionStore;

  @IsOptional()
  @IsDuration()
  idleTimeout?: Duration;

  @IsOptional()
  @IsDuration()
  absoluteTimeout?: Duration;

  @IsOptional()
  @IsDuration()
  touchAfter?: Duration;

  @IsOptional()
  @IsIn(['fail-closed', 'anonymous'], {
    message: "storeOutage must be 'fail-closed' or 'anonymous'",
  })
  storeOutage?: 'fail-closed' | 'anonymous';

  @IsOptional()
  @IsIn(['user-agent'], { each: true, message: "bindTo may only contain 'user-agent'" })
  bindTo?: Array<'user-agent'>;

  @IsOptional()
  @IsPositiveInteger()
  maxSessionBytes?: number;
}

function flatten(errors: ValidationError[], problems: string[]): void {
  for (const error of errors) {
    problems.push(...Object.values(error.constraints ?? {}));
    flatten(error.children ?? [], problems);
  }
}

/**
 * Validates raw options (class-validator) and fills in the defaults. Throws
 * one {@link SessionOptionsError} naming every problem, so a misconfigured app
 * fails at startup rather than at its first request.
 */
export function resolveSessionOptions(raw: SessionModuleOptions): ResolvedSessionOptions {
  const problems: string[] = [];
  if (raw === null || typeof raw !== 'object') {
    throw SessionOptionsError.create(['options must be an object with at least a `secret`']);
  }
  flatten(validateSync(Object.assign(new SessionOptionsSchema(), raw)), problems);
  const rawCookie: unknown = raw.cookie ?? {};
  if (rawCookie === null || typeof rawCookie !== 'object') {
    problems.push('cookie must be an object');
  } else {
    flatten(validateSync(Object.assign(new CookieOptionsSchema(), rawCookie)), problems);
  }
  const cookieIn = (
    typeof rawCookie === 'object' && rawCookie ? rawCookie : {}
  ) as SessionCookieOptions;

  const idleTimeoutMs = parseDuration(raw.idleTimeout ?? '30m');
  const absoluteTimeoutMs = parseDuration(raw.absoluteTimeout ?? '8h');
  if (idleTimeoutMs && absoluteTimeoutMs && absoluteTimeoutMs < idleTimeoutMs) {
    problems.push(
      `absoluteTimeout (${absoluteTimeoutMs} ms) must not be shorter than idleTimeout (${idleTimeoutMs} ms)`,
    );
  }
  const touchAfterMs =
    raw.touchAfter === undefined
      ? Math.max(1, Math.floor((idleTimeoutMs ?? 0) / 2))
      : parseDuration(raw.touchAfter);
  if (idleTimeoutMs && touchAfterMs && touchAfterMs >= idleTimeoutMs) {
    problems.push(
      `touchAfter (${touchAfterMs} ms) must be shorter than idleTimeout (${idleTimeoutMs} ms)`,
    );
  }

  const secure = cookieIn.secure ?? process.env.NODE_ENV === 'production';
  const sameSite = cookieIn.sameSite ?? 'lax';
  const path = cookieIn.path ?? '/';
  const domain = cookieIn.domain;
  const name =
    cookieIn.name ?? (secure ? (domain === undefined ? '__Host-sid' : '__Secure-sid') : 'sid');
  if (sameSite === 'none' && !secure) {
    problems.push(
      "cookie.sameSite 'none' requires cookie.secure: true (browsers reject it otherwise)",
    );
  }
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

  // Browsers drop cookies whose name and value exceed 4096 bytes; a signed ID is 87 characters.
  if (name.length + 1 + SIGNED_ID_LENGTH > 4096) {
    problems.push('cookie.name is too long: name=value must fit in 4096 bytes');
  }
  const allowedOrigins: unknown = raw.csrf?.allowedOrigins ?? [];
  if (
    !Array.isArray(allowedOrigins) ||
    !allowedOrigins.every((o) => typeof o === 'string' && /^https?:\/\/[^/\s]+$/.test(o))
  ) {
    problems.push("csrf.allowedOrigins must be a list of origins like 'https://app.example.com'");
  }
  let rotation: ResolvedSessionOptions['rotation'];
  if (raw.rotation !== undefined) {
    const everyMs = parseDuration(raw.rotation?.every);
    const graceMs = raw.rotation?.grace === undefined ? 10_000 : parseDuration(raw.rotation.grace);
    if (everyMs === undefined)
      problems.push("rotation.every must be a positive duration such as '15m'");
    if (graceMs === undefined)
      problems.push("rotation.grace must be a positive duration such as '10s'");
    if (everyMs !== undefined && graceMs !== undefined && graceMs >= everyMs) {
      problems.push('rotation.grace must be shorter than rotation.every');
    }
    rotation = { everyMs: everyMs ?? 0, graceMs: graceMs ?? 0 };
  }
  let bruteForce: ResolvedSessionOptions['bruteForce'];
  if (raw.bruteForce !== false) {
    const given = raw.bruteForce ?? {};
    const maxFailures = given.maxFailures ?? 100;
    const windowMs = parseDuration(given.window ?? '5m');
    const trustProxy = given.trustProxy ?? 0;
    if (!Number.isInteger(maxFailures) || maxFailures < 1) {
      problems.push('bruteForce.maxFailures must be a positive integer');
    }
    if (windowMs === undefined) {
      problems.push("bruteForce.window must be a positive duration such as '5m'");
    }
    if (!Number.isInteger(trustProxy) || trustProxy < 0) {
      problems.push('bruteForce.trustProxy must be the number of trusted proxies (0 or more)');
    }
    bruteForce = { maxFailures, windowMs: windowMs ?? 0, trustProxy };
  }
  if (raw.bindTo !== undefined && !Array.isArray(raw.bindTo)) {
    problems.push("bindTo must be an array, e.g. ['user-agent']");
  }

  if (problems.length > 0) throw SessionOptionsError.create(problems);

  const store = raw.store ?? new MemoryStore();
  return {
    secrets: Array.isArray(raw.secret) ? [...raw.secret] : [raw.secret],
    store,
    idleTimeoutMs: idleTimeoutMs!,
    absoluteTimeoutMs: absoluteTimeoutMs!,
    touchAfterMs: touchAfterMs!,
    endedRetentionMs: ENDED_RETENTION_MS,
    storeOutage: raw.storeOutage ?? 'fail-closed',
    bindToUserAgent: raw.bindTo?.includes('user-agent') ?? false,
    csrfAllowedOrigins: (allowedOrigins as string[]).map((o) => o.toLowerCase()),
    bruteForce,
    rotation,
    maxSessionBytes: raw.maxSessionBytes ?? DEFAULT_MAX_SESSION_BYTES,
    cookie: { name, secure, sameSite, path, domain, httpOnly: cookieIn.httpOnly ?? true },
  };
}
