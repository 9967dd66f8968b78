import { Logger } from '@nestjs/common';
import {
  createPrivateKey,
  generateKeyPairSync,
  randomBytes,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';

/** How the sample signs access tokens (TOKEN_ALG): HS256 secrets, or an asymmetric private key. */
export type SampleTokenKeys =
  | { alg: 'HS256'; secrets: string[] }
  | { alg: 'EdDSA' | 'ES256'; kid: string; privateKey: KeyObject };

/** Token sessions (the TOKEN_* variables; see README: "The sample app"). */
export interface SampleTokenConfig {
  keys: SampleTokenKeys;
  issuer: string;
  audience: string;
  accessTtlMs: number;
  refreshTtlMs: number;
  refreshIdleMs: number;
  /**
   * TOKEN_REVOCATION. `strict`: a logout or revocation stops the family's
   * access tokens at once (one store read per request on /tokens/me);
   * `none`: no store read, so they keep working until they expire (up to
   * TOKEN_ACCESS_TTL_MS, plus TOKEN_CLOCK_SKEW_MS).
   */
  revocation: 'strict' | 'none';
  /** TOKEN_CLOCK_SKEW_MS: the clock tolerance on `exp`/`nbf` (0 allowed). */
  clockSkewMs: number;
  /** TOKEN_REUSE_GRACE_MS: how long a just-rotated refresh token may come back (0: off). */
  reuseGraceMs: number;
}

/** The sample's settings, read from the environment (see README: "The sample app"). */
export interface SampleConfig {
  port: number;
  platform: 'express' | 'fastify';
  redisUrl?: string;
  secrets: string[];
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  freshWithinMs: number;
  bindUserAgent: boolean;
  csrfAllowedOrigins: string[];
  /** Guessing defence: invalid session IDs per client per 5 minutes before 429. */
  maxIdFailures: number;
  /** Periodic ID renewal and its grace period (both unset: off). */
  rotateEveryMs?: number;
  rotationGraceMs?: number;
  /** Proxies in front of the app that append to X-Forwarded-For. */
  trustProxy: number;
  /** SHUTDOWN_TIMEOUT_MS: how long a SIGTERM/SIGINT drain may take before the process exits with 1. */
  shutdownTimeoutMs: number;
  /** SESSION_STORE_OUTAGE: what a request does when the store is down (SessionModule `storeOutage`). */
  storeOutage: 'fail-closed' | 'anonymous';
  /** SESSION_MAX_BYTES: SessionModule `maxSessionBytes` (unset: the library's default, 64 KiB). */
  maxSessionBytes?: number;
  /** SESSION_MAX_PER_USER: the store's `maxSessionsPerUser` (unset: the store's default). */
  maxSessionsPerUser?: number;
  /** SESSION_MEMORY_MAX_SESSIONS: MemoryStore `maxSessions` (unset: the store's default, 100000). */
  memoryMaxSessions?: number;
  /**
   * SESSION_EXPIRY_SWEEP_MS: how often the store is asked for sessions whose
   * time ran out, so each gets its `expired` event (and metric) even when no
   * request comes back (SessionModule `expirySweep`); `false` (0): off.
   */
  expirySweepMs: number | false;
  production: boolean;
  tokens: SampleTokenConfig;
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`${name} must be a positive integer (got '${raw}')`);
  }
  return value;
}

/** A positive integer, or `undefined` when unset (the library decides the default). */
function optionalPositiveInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  return env[name] === undefined || env[name] === '' ? undefined : positiveInt(env, name, 0);
}

/** A non-negative integer (0 allowed), `fallback` when unset. */
function nonNegativeInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`${name} must be a non-negative integer (got '${raw}')`);
  }
  return value;
}

function commaList(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function tokenRevocation(raw: string | undefined): SampleTokenConfig['revocation'] {
  if (raw === undefined || raw === '') return 'strict';
  if (raw === 'strict' || raw === 'none') return raw;
  throw new Error(`TOKEN_REVOCATION must be 'strict' or 'none' (got '${raw}')`);
}

/** The key each asymmetric TOKEN_ALG signs with, for messages. */
const KEY_KIND = { EdDSA: 'an Ed25519', ES256: 'a P-256' } as const;

function fitsAlg(key: KeyObject, alg: 'EdDSA' | 'ES256'): boolean {
  if (alg === 'EdDSA') return key.asymmetricKeyType === 'ed25519';
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
}

function importPrivateKey(text: string): KeyObject | undefined {
  try {
    return text.startsWith('{')
      ? createPrivateKey({ key: JSON.parse(text) as JsonWebKey, format: 'jwk' })
      : createPrivateKey(text.replace(/\\n/g, '\n'));
  } catch {
    return undefined;
  }
}

/** TOKEN_PRIVATE_KEY: a PEM private key (`\n` escapes allowed) or a private JWK as JSON. */
function parsePrivateKey(raw: string, alg: 'EdDSA' | 'ES256'): KeyObject {
  const key = importPrivateKey(raw.trim());
  if (!key) {
    // The parser's own message is left out: JSON.parse quotes the input, and this one is a secret.
    throw new Error('TOKEN_PRIVATE_KEY must be a PEM private key or a private JWK as JSON');
  }
  if (key.type !== 'private') {
    throw new Error('TOKEN_PRIVATE_KEY must be a private key, not a public one');
  }
  if (!fitsAlg(key, alg)) {
    throw new Error(`TOKEN_PRIVATE_KEY must be ${KEY_KIND[alg]} private key for TOKEN_ALG=${alg}`);
  }
  return key;
}

function tokenKeys(env: NodeJS.ProcessEnv, production: boolean): SampleTokenKeys {
  const alg = env.TOKEN_ALG || 'HS256';
  if (alg !== 'HS256' && alg !== 'EdDSA' && alg !== 'ES256') {
    throw new Error(`TOKEN_ALG must be 'HS256', 'EdDSA' or 'ES256' (got '${alg}')`);
  }
  const secrets = commaList(env.TOKEN_SECRET);
  const privateKey = env.TOKEN_PRIVATE_KEY?.trim() || undefined;
  if (alg === 'HS256') {
    if (privateKey) {
      throw new Error(
        "TOKEN_PRIVATE_KEY needs TOKEN_ALG 'EdDSA' or 'ES256' (TOKEN_ALG is HS256, which signs with TOKEN_SECRET)",
      );
    }
    if (secrets.length > 0) return { alg, secrets };
    if (production) {
      throw new Error(
        'TOKEN_SECRET is required when NODE_ENV=production (or TOKEN_ALG=EdDSA/ES256 with TOKEN_PRIVATE_KEY)',
      );
    }
    new Logger('Sample').warn(
      'TOKEN_SECRET is not set: using a random secret; access tokens will not survive a restart (development only)',
    );
    return { alg, secrets: [randomBytes(32).toString('base64url')] };
  }
  if (secrets.length > 0) {
    throw new Error(
      `TOKEN_SECRET is for TOKEN_ALG=HS256 only; with TOKEN_ALG=${alg} set TOKEN_PRIVATE_KEY`,
    );
  }
  const kid = env.TOKEN_KID || 'sample-1';
  if (privateKey) return { alg, kid, privateKey: parsePrivateKey(privateKey, alg) };
  if (production) {
    throw new Error(`TOKEN_PRIVATE_KEY is required when NODE_ENV=production (TOKEN_ALG=${alg})`);
  }
  new Logger('Sample').warn(
    `TOKEN_PRIVATE_KEY is not set: generated ${KEY_KIND[alg]} key pair; access tokens and the JWKS change at every restart (development only)`,
  );
  const pair =
    alg === 'EdDSA'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { alg, kid, privateKey: pair.privateKey };
}

function tokenConfig(env: NodeJS.ProcessEnv, production: boolean): SampleTokenConfig {
  return {
    keys: tokenKeys(env, production),
    issuer: env.TOKEN_ISSUER || 'nest-session-sample',
    audience: env.TOKEN_AUDIENCE || 'nest-session-sample',
    accessTtlMs: positiveInt(env, 'TOKEN_ACCESS_TTL_MS', 300_000),
    refreshTtlMs: positiveInt(env, 'TOKEN_REFRESH_TTL_MS', 1_209_600_000),
    refreshIdleMs: positiveInt(env, 'TOKEN_REFRESH_IDLE_MS', 604_800_000),
    revocation: tokenRevocation(env.TOKEN_REVOCATION),
    clockSkewMs: nonNegativeInt(env, 'TOKEN_CLOCK_SKEW_MS', 5_000),
    reuseGraceMs: nonNegativeInt(env, 'TOKEN_REUSE_GRACE_MS', 0),
  };
}

function storeOutage(raw: string | undefined): SampleConfig['storeOutage'] {
  if (raw === undefined || raw === '') return 'fail-closed';
  if (raw === 'fail-closed' || raw === 'anonymous') return raw;
  throw new Error(`SESSION_STORE_OUTAGE must be 'fail-closed' or 'anonymous' (got '${raw}')`);
}

export function readSampleConfig(env: NodeJS.ProcessEnv = process.env): SampleConfig {
  const platform = env.PLATFORM ?? 'express';
  if (platform !== 'express' && platform !== 'fastify') {
    throw new Error(`PLATFORM must be 'express' or 'fastify' (got '${platform}')`);
  }
  const production = env.NODE_ENV === 'production';
  let secrets = (env.SESSION_SECRET ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (secrets.length === 0) {
    if (production) throw new Error('SESSION_SECRET is required when NODE_ENV=production');
    secrets = [randomBytes(32).toString('base64url')];
    new Logger('Sample').warn(
      'SESSION_SECRET is not set: using a random secret; sessions will not survive a restart (development only)',
    );
  }
  return {
    port: positiveInt(env, 'PORT', 3000),
    platform,
    redisUrl: env.REDIS_URL || undefined,
    secrets,
    idleTimeoutMs: positiveInt(env, 'SESSION_IDLE_TIMEOUT_MS', 1_800_000),
    absoluteTimeoutMs: positiveInt(env, 'SESSION_ABSOLUTE_TIMEOUT_MS', 28_800_000),
    freshWithinMs: positiveInt(env, 'SESSION_FRESH_WITHIN_MS', 300_000),
    maxIdFailures: positiveInt(env, 'SESSION_MAX_ID_FAILURES', 100),
    rotateEveryMs: env.SESSION_ROTATE_EVERY_MS
      ? positiveInt(env, 'SESSION_ROTATE_EVERY_MS', 0)
      : undefined,
    // 0: no grace (the old ID dies at once); unset: the library's default.
    rotationGraceMs: env.SESSION_ROTATION_GRACE_MS
      ? nonNegativeInt(env, 'SESSION_ROTATION_GRACE_MS', 0)
      : undefined,
    trustProxy: nonNegativeInt(env, 'TRUST_PROXY', 0),
    shutdownTimeoutMs: positiveInt(env, 'SHUTDOWN_TIMEOUT_MS', 10_000),
    bindUserAgent: env.SESSION_BIND_USER_AGENT === '1',
    storeOutage: storeOutage(env.SESSION_STORE_OUTAGE),
    maxSessionBytes: optionalPositiveInt(env, 'SESSION_MAX_BYTES'),
    maxSessionsPerUser: optionalPositiveInt(env, 'SESSION_MAX_PER_USER'),
    memoryMaxSessions: optionalPositiveInt(env, 'SESSION_MEMORY_MAX_SESSIONS'),
    expirySweepMs: nonNegativeInt(env, 'SESSION_EXPIRY_SWEEP_MS', 5_000) || false,
    csrfAllowedOrigins: (env.CSRF_ALLOWED_ORIGINS ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
    production,
    tokens: tokenConfig(env, production),
  };
}
