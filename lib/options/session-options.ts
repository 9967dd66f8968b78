import { IsArray, IsBoolean, IsIn, IsOptional, ValidateIf, ValidateNested } from 'class-validator';
import type { Registry } from 'prom-client';
import type { SessionStore } from '../stores/session-store.interface.js';
import { parseDuration, type Duration } from '../utils/duration.js';
import { BruteForceOptionsSchema, type SessionBruteForceOptions } from './brute-force-options.js';
import { CookieOptionsSchema, type SessionCookieOptions } from './cookie-options.js';
import { CsrfOptionsSchema, type SessionCsrfOptions } from './csrf-options.js';
import {
  IsDuration,
  IsMetricsOption,
  IsPositiveInteger,
  IsSecret,
  IsSessionStore,
} from './option-validators.js';
import { LoggingOptionsSchema, type SessionLoggingOptions } from './logging-options.js';
import { RotationOptionsSchema, type SessionRotationOptions } from './rotation-options.js';
import { TokenOptionsSchema, type SessionTokenOptions } from './token-options.js';
import { optionGroup, withDefaults } from './with-defaults.js';

/**
 * Options of `SessionModule.forRoot()` / `forRootAsync()`, validated at
 * startup. An option (or a field of a group) given as `undefined` or `null`
 * takes its default.
 */
export interface SessionModuleOptions {
  /**
   * Secret(s) signing the session cookie, each at least 32 characters. With a
   * list, the first signs and all verify: put a new secret first to rotate,
   * and drop the old one once its cookies have expired. Required.
   */
  secret: string | string[];
  /** Where sessions are kept. Default: a new `MemoryStore` (one process only). */
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
  bruteForce?: false | SessionBruteForceOptions;
  /**
   * Periodic renewal (OWASP "renewal timeout"): a live session gets a new ID
   * once `every` has passed since its last rotation. For `grace` (default
   * `'10s'`) the old ID still resolves to the new session (reads and writes),
   * so requests the client already had in flight are not logged out; then it
   * dies. Privilege rotations (log-in, role change, logout) never have a
   * grace. Default: off.
   */
  rotation?: SessionRotationOptions;
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
  csrf?: SessionCsrfOptions;
  /**
   * Bearer access tokens (`TokenService`, `AccessTokenGuard`): signing keys,
   * `issuer`, `audience`, lifetimes. Default: off (TokenService then throws
   * on use).
   */
  tokens?: SessionTokenOptions;
  /**
   * Prometheus metrics with prom-client (install it; it is loaded only
   * then): `true` for prom-client's default registry, or `{ registry }`
   * for yours. Default: off.
   */
  metrics?: boolean | SessionMetricsOptions;
  /**
   * How often each app instance asks the store for sessions (and token
   * families) whose time ran out, to emit one `expired` event for each even
   * when no request ever comes back for it (the store hands each one to one
   * instance only). Needs a store with `claimExpired` (MemoryStore and
   * RedisStore have it); with such a store, requests that meet an ended
   * session no longer emit `expired` themselves, so each is counted once.
   * `false`: off (requests then emit `expired` as they meet ended sessions).
   * Default `'5s'`.
   */
  expirySweep?: Duration | false;
  /**
   * The default event subscriber: one line per lifecycle event through
   * Nest's `Logger` (context `SessionEvents`), with the public fields only
   * (type, kind, reason, handle, userId, operation, ip, userAgent; never an
   * ID, token or secret). Default `{ level: 'debug', problemLevel: 'warn' }`;
   * `false` turns it off.
   */
  logging?: false | SessionLoggingOptions;
  /**
   * An express-session compatible `req.session` on every request (Express
   * and Fastify), backed by this module's session: property reads and writes,
   * `regenerate()`, `save()`, `destroy()`, `reload()`, `touch()`, `id` and a
   * read-only `cookie`, for code written against express-session (Passport's
   * session flow, Nest's built-in `@Session()` from `@nestjs/common`). Sync
   * property reads need the session loaded, so with it on every request
   * loads its session before guards and handlers run (the lazy loading is
   * lost). Off, touching `req.session` throws an error that points to this
   * package's `@Session()`. Default `false`.
   */
  expressSessionCompat?: boolean;
}

/** `metrics` of {@link SessionModuleOptions}. */
export interface SessionMetricsOptions {
  /** A prom-client `Registry`; default: prom-client's default registry. */
  registry?: Registry;
}

/**
 * Far above what sessions hold in practice (an authenticated session with a
 * CSRF secret and a few preferences is well under 1 KiB), low enough that a
 * full session stays cheap to load on every request (parsing 64 KiB of
 * values, 300 keys, took 0.13 ms on Node 20; measuring it at a write,
 * 0.05 ms) and that a MemoryStore full of them (100,000) is ~6.5 GB at worst.
 */
const DEFAULT_MAX_SESSION_BYTES = 64 * 1024;

/**
 * The top level of {@link SessionModuleOptions} with its defaults on the
 * fields (documented there) and a validator on each, the nested groups as
 * their own schema classes. Built by {@link SessionOptionsSchema.from};
 * validated as a whole by `validateSync` (groups through `@ValidateNested`).
 */
export class SessionOptionsSchema {
  @IsSecret()
  secret!: string | string[];

  /** No default instance here: a MemoryStore is made only once the options are known to be valid. */
  @IsSessionStore()
  store?: SessionStore;

  @IsDuration()
  idleTimeout: Duration = '30m';

  @IsDuration()
  absoluteTimeout: Duration = '8h';

  /** Default derived from `idleTimeout` by {@link SessionOptionsSchema.from}. */
  @IsDuration()
  touchAfter?: Duration;

  @IsIn(['fail-closed', 'anonymous'], {
    message: "storeOutage must be 'fail-closed' or 'anonymous'",
  })
  storeOutage: 'fail-closed' | 'anonymous' = 'fail-closed';

  @IsArray({ message: "bindTo must be an array, e.g. ['user-agent']" })
  @IsIn(['user-agent'], { each: true, message: "bindTo may only contain 'user-agent'" })
  bindTo: Array<'user-agent'> = [];

  @IsPositiveInteger()
  maxSessionBytes: number = DEFAULT_MAX_SESSION_BYTES;

  @ValidateNested({ message: 'cookie must be an object' })
  cookie: CookieOptionsSchema = new CookieOptionsSchema();

  @ValidateNested({ message: 'csrf must be an object' })
  csrf: CsrfOptionsSchema = new CsrfOptionsSchema();

  @IsOptional()
  @ValidateNested({ message: "rotation must be an object such as { every: '15m' }" })
  rotation?: RotationOptionsSchema;

  @ValidateIf((options: SessionOptionsSchema) => options.bruteForce !== false)
  @ValidateNested({ message: 'bruteForce must be false or an object such as { maxFailures: 100 }' })
  bruteForce: BruteForceOptionsSchema | false = new BruteForceOptionsSchema();

  @IsOptional()
  @ValidateNested({ message: 'tokens must be an object such as { secret, issuer, audience }' })
  tokens?: TokenOptionsSchema;

  @IsMetricsOption()
  metrics: boolean | SessionMetricsOptions = false;
  @ValidateIf((options: SessionOptionsSchema) => options.logging !== false)
  @ValidateNested({ message: "logging must be false or an object such as { level: 'log' }" })
  logging: LoggingOptionsSchema | false = new LoggingOptionsSchema();
  @ValidateIf((options: SessionOptionsSchema) => options.expirySweep !== false)
  @IsDuration()
  expirySweep: Duration | false = '5s';

  @IsBoolean({ message: 'expressSessionCompat must be true or false' })
  expressSessionCompat: boolean = false;

  /**
   * `given` merged over the defaults, group by group, derived defaults
   * included; not yet validated, so a field may still hold what was given
   * (a non-object group stays as it was, for its validator to name).
   */
  static from(given: SessionModuleOptions): SessionOptionsSchema {
    const options = withDefaults(new SessionOptionsSchema(), given);
    options.cookie = CookieOptionsSchema.from(given.cookie);
    options.csrf = optionGroup(given.csrf, () => new CsrfOptionsSchema());
    options.rotation =
      given.rotation === undefined || given.rotation === null
        ? undefined
        : optionGroup(given.rotation, () => new RotationOptionsSchema());
    options.tokens =
      given.tokens === undefined || given.tokens === null
        ? undefined
        : optionGroup(given.tokens, () => new TokenOptionsSchema());
    options.logging =
      given.logging === false
        ? false
        : optionGroup(given.logging, () => new LoggingOptionsSchema());
    options.bruteForce =
      given.bruteForce === false
        ? false
        : optionGroup(given.bruteForce, () => new BruteForceOptionsSchema());
    // Half the idle timeout: a read-only request then writes at most once per half-timeout.
    options.touchAfter ??= Math.max(1, Math.floor((parseDuration(options.idleTimeout) ?? 0) / 2));
    return options;
  }
}
