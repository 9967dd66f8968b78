import { validateSync, type ValidationError } from 'class-validator';
import { crossFieldProblems } from './options/cross-field-rules.js';
import type { SessionCookieOptions } from './options/cookie-options.js';
import { SessionOptionsSchema, type SessionModuleOptions } from './options/session-options.js';
import type { SessionEventLogLevels } from './events/session-event-logger.js';
import type { SessionMetricsSettings } from './metrics/session-metrics.js';
import { resolveTokenOptions, type ResolvedTokenOptions } from './options/token-options.js';
import { SessionOptionsError } from './session.errors.js';
import { MemoryStore } from './stores/memory.store.js';
import type { SessionStore } from './stores/session-store.interface.js';
import { parseDuration, type Duration } from './utils/duration.js';

// The public option shapes live with their groups under options/; this file is the entry point.
export type { SessionBruteForceOptions } from './options/brute-force-options.js';
export type { SessionCookieOptions } from './options/cookie-options.js';
export type { SessionCsrfOptions } from './options/csrf-options.js';
export type { SessionRotationOptions } from './options/rotation-options.js';
export type { SessionModuleOptions } from './options/session-options.js';
export type { SessionLoggingOptions } from './options/logging-options.js';
export type {
  SessionTokenOptions,
  SessionTokenKeySet,
  ResolvedTokenOptions,
} from './options/token-options.js';

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
  /** Access-token settings; absent when `tokens` is not configured. */
  tokens?: ResolvedTokenOptions;
  /** Prometheus metrics; absent when off. */
  metrics?: SessionMetricsSettings;
  /** The default event log's levels; absent when `logging: false`. */
  logging?: SessionEventLogLevels;
  /** How often to claim ended sessions for `expired` events; absent when off or the store cannot. */
  expirySweepMs?: number;
  /** An express-session compatible `req.session` (see lib/express-session/). */
  expressSessionCompat: boolean;
}

const ENDED_RETENTION_MS = 60_000;

/**
 * Validates raw options (class-validator on every group, then the rules
 * between fields) and fills in the defaults. Throws one
 * {@link SessionOptionsError} naming every problem, so a misconfigured app
 * fails at startup rather than at its first request.
 */
export function resolveSessionOptions(raw: SessionModuleOptions): ResolvedSessionOptions {
  if (raw === null || typeof raw !== 'object') {
    throw SessionOptionsError.create(['options must be an object with at least a `secret`']);
  }
  const options = SessionOptionsSchema.from(raw);
  const problems = [...validationProblems(validateSync(options)), ...crossFieldProblems(options)];
  if (problems.length > 0) throw SessionOptionsError.create(problems);
  return resolved(options);
}

/** Every message of a class-validator result, nested groups' (children) included, in order. */
function validationProblems(errors: ValidationError[]): string[] {
  return errors.flatMap((error) => [
    ...Object.values(error.constraints ?? {}),
    ...validationProblems(error.children ?? []),
  ]);
}

/** Milliseconds of a duration already validated. */
function ms(duration: Duration | undefined): number {
  return parseDuration(duration)!;
}

/** What the rest of the module reads, from options that passed validation. */
function resolved(options: SessionOptionsSchema): ResolvedSessionOptions {
  const { secret, cookie, csrf, rotation, bruteForce } = options;
  const store = options.store ?? new MemoryStore();
  return {
    secrets: Array.isArray(secret) ? [...secret] : [secret],
    store,
    expirySweepMs:
      options.expirySweep === false || !store.claimExpired ? undefined : ms(options.expirySweep),
    idleTimeoutMs: ms(options.idleTimeout),
    absoluteTimeoutMs: ms(options.absoluteTimeout),
    touchAfterMs: ms(options.touchAfter),
    endedRetentionMs: ENDED_RETENTION_MS,
    storeOutage: options.storeOutage,
    bindToUserAgent: options.bindTo.includes('user-agent'),
    csrfAllowedOrigins: csrf.allowedOrigins.map((origin) => origin.toLowerCase()),
    bruteForce: bruteForce
      ? {
          maxFailures: bruteForce.maxFailures,
          windowMs: ms(bruteForce.window),
          trustProxy: bruteForce.trustProxy,
        }
      : undefined,
    rotation: rotation && {
      everyMs: ms(rotation.every),
      graceMs: rotation.grace === 0 ? 0 : ms(rotation.grace),
    },
    maxSessionBytes: options.maxSessionBytes,
    expressSessionCompat: options.expressSessionCompat,
    logging: options.logging === false ? undefined : { ...options.logging },
    tokens: options.tokens && resolveTokenOptions(options.tokens, cookie.secure),
    metrics:
      options.metrics === false
        ? undefined
        : { registry: options.metrics === true ? undefined : options.metrics.registry },
    cookie: {
      name: cookie.name!,
      secure: cookie.secure,
      sameSite: cookie.sameSite,
      path: cookie.path,
      domain: cookie.domain,
      httpOnly: cookie.httpOnly,
    },
  };
}
