import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';

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
  /** SESSION_STORE_OUTAGE: what a request does when the store is down (SessionModule `storeOutage`). */
  storeOutage: 'fail-closed' | 'anonymous';
  /** SESSION_MAX_BYTES: SessionModule `maxSessionBytes` (unset: the library's default, 64 KiB). */
  maxSessionBytes?: number;
  /** SESSION_MAX_PER_USER: the store's `maxSessionsPerUser` (unset: the store's default). */
  maxSessionsPerUser?: number;
  /** SESSION_MEMORY_MAX_SESSIONS: MemoryStore `maxSessions` (unset: the store's default, 100000). */
  memoryMaxSessions?: number;
  production: boolean;
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
    rotationGraceMs: env.SESSION_ROTATION_GRACE_MS
      ? positiveInt(env, 'SESSION_ROTATION_GRACE_MS', 0)
      : undefined,
    trustProxy: env.TRUST_PROXY ? positiveInt(env, 'TRUST_PROXY', 0) : 0,
    bindUserAgent: env.SESSION_BIND_USER_AGENT === '1',
    storeOutage: storeOutage(env.SESSION_STORE_OUTAGE),
    maxSessionBytes: optionalPositiveInt(env, 'SESSION_MAX_BYTES'),
    maxSessionsPerUser: optionalPositiveInt(env, 'SESSION_MAX_PER_USER'),
    memoryMaxSessions: optionalPositiveInt(env, 'SESSION_MEMORY_MAX_SESSIONS'),
    csrfAllowedOrigins: (env.CSRF_ALLOWED_ORIGINS ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
    production,
  };
}
