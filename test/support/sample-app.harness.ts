import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { AddressInfo } from 'node:net';
import { merge, type Subscription } from 'rxjs';
import request from 'supertest';
import type { SessionEvent } from '../../lib/events/session-event.js';
import { SessionService } from '../../lib/session.service.js';
import { RedisStore } from '../../lib/stores/redis.store.js';
import type { SessionStore } from '../../lib/stores/session-store.interface.js';
import { readSampleConfig, type SampleConfig } from '../../sample/sample.config.js';
import { createSampleApp } from '../../sample/sample-app.js';
import { cookiePair } from './cookies.js';
import { CountingStore, type CountingStoreOptions } from './counting.store.js';
import { captureNestLogs, fileApps } from './log-capture.js';
import { requireEsmAsNodeDoes } from './native-require.js';
import { startRedis, type RedisServer } from './redis-servers.js';
import { startRoundRobinProxy } from './round-robin.proxy.js';
import {
  recordEnvironmentSecrets,
  recordOptionSecrets,
  recordSecretsOnTheWire,
} from './wire-secrets.js';

// The sample mounts GraphQL, Mercurius on Fastify: under jest on Node 20 mercurius loads only
// with this shim in place (see native-require.ts). Once per test file, before any app is built.
await requireEsmAsNodeDoes('@fastify/static', 'content-disposition');

export type Platform = 'express' | 'fastify';
/** Every spec runs over both: `describe.each(PLATFORMS)('%s', (platform) => ...)`. */
export const PLATFORMS: Platform[] = ['express', 'fastify'];

/**
 * What `startSampleApp` runs, chosen by the `E2E_STORE` environment variable:
 * - `memory` (default): one instance on an in-memory {@link CountingStore};
 * - `redis-pair`: two instances sharing one RedisStore (on a redis-server
 *   started for the test file) behind a round-robin proxy, so consecutive
 *   requests of a test hit different instances (issue 3: "two instances on
 *   one Redis pass the whole e2e suite").
 */
export type E2EStoreMode = 'memory' | 'redis-pair';
export const E2E_STORE: E2EStoreMode = readMode(process.env.E2E_STORE);
/** True in `redis-pair` mode; for the few guards of inherently single-instance tests. */
export const REDIS_PAIR = E2E_STORE === 'redis-pair';

function readMode(raw: string | undefined): E2EStoreMode {
  if (raw === undefined || raw === '' || raw === 'memory') return 'memory';
  if (raw === 'redis-pair') return raw;
  throw new Error(`E2E_STORE must be 'memory' or 'redis-pair' (got '${raw}')`);
}

/** The secret the harness gives the sample (SESSION_SECRET), so tests can sign cookies themselves. */
export const TEST_SECRET = 'e2e-test-secret-0123456789-abcdefghijklmnop';

/** The access-token secret the harness gives the sample (TOKEN_SECRET), so it does not warn of a random one. */
export const TEST_TOKEN_SECRET = 'e2e-token-secret-0123456789-abcdefghijklmnop';

/** A Nest app listening on 127.0.0.1 for the duration of a describe block. */
export interface RunningApp {
  app: INestApplication;
  platform: Platform;
  /** Base URL, a supertest target: `request(http).get('/me')` (in redis-pair mode, the proxy's). */
  http: string;
  port: number;
  /** Every instance serving `http`: `[app]`, or both instances in redis-pair mode (`app` is the first). */
  instances: INestApplication[];
  /** Closes the app (and the store the harness made). Idempotent. */
  close(): Promise<void>;
}

export interface SampleAppHarness<TStore extends SessionStore = SessionStore> extends RunningApp {
  config: SampleConfig;
  /**
   * The store the app runs on (a fresh {@link CountingStore} unless one was
   * given); in redis-pair mode one CountingStore around one RedisStore,
   * shared by both instances, so its counts are the pair's.
   */
  store: TStore;
}

export interface SampleAppOptions<TStore extends SessionStore> {
  /** Environment variables as the sample reads them (DESIGN.md's table), e.g. `SESSION_IDLE_TIMEOUT_MS`. */
  env?: Record<string, string | undefined>;
  /**
   * The store; default {@link newTestStore}'s (closed by `close()`). A given
   * store is left open; in redis-pair mode both instances share it.
   */
  store?: TStore;
}

/** This test file's redis-server (module state is per test file under jest), started on first use. */
let fileRedis: { server: Promise<RedisServer>; users: number } | undefined;
let prefixes = 0;

async function acquireRedis(): Promise<RedisServer> {
  fileRedis ??= { server: startRedis(), users: 0 };
  fileRedis.users++;
  try {
    return await fileRedis.server;
  } catch (error) {
    fileRedis = undefined;
    throw error;
  }
}

/** The last user of the file's redis-server stops it (the exit hook of redis-servers.ts covers the rest). */
async function releaseRedis(): Promise<void> {
  const current = fileRedis;
  if (!current || --current.users > 0) return;
  fileRedis = undefined;
  await (await current.server).stop();
}

/**
 * A RedisStore on the file's redis-server that lets go of the server when
 * closed. Closed once: every instance's SessionModule closes its store at
 * shutdown, and a second ioredis quit() leaves a command timer behind.
 */
class FileRedisStore extends RedisStore {
  private closing?: Promise<void>;

  override close(): Promise<void> {
    return (this.closing ??= (async () => {
      await super.close();
      await releaseRedis();
    })());
  }
}

/**
 * A fresh CountingStore for the current {@link E2E_STORE} mode: around a
 * MemoryStore, or (redis-pair) around a RedisStore on this file's
 * redis-server under a key prefix of its own. Its `close()` frees it all.
 */
export async function newTestStore(options: CountingStoreOptions = {}): Promise<CountingStore> {
  if (!REDIS_PAIR) return new CountingStore(options);
  const server = await acquireRedis();
  const { readDelayMs, writeDelayMs } = options;
  return new CountingStore({
    readDelayMs,
    writeDelayMs,
    inner: new FileRedisStore({ url: server.url, prefix: `e2e${++prefixes}:` }),
  });
}

/**
 * {@link newTestStore} with a per-user session cap: `maxSessionsPerUser` goes
 * to the store the CountingStore wraps (the MemoryStore, or in redis-pair mode
 * the RedisStore on this file's redis-server), for specs whose sample app
 * runs on a store they give it (a given store ignores SESSION_MAX_PER_USER).
 */
export async function newCappedTestStore(
  maxSessionsPerUser: number,
  options: Pick<CountingStoreOptions, 'readDelayMs' | 'writeDelayMs'> = {},
): Promise<CountingStore> {
  const { readDelayMs, writeDelayMs } = options;
  if (!REDIS_PAIR) {
    return new CountingStore({
      readDelayMs,
      writeDelayMs,
      maxSessionsPerUser,
    } as CountingStoreOptions);
  }
  const server = await acquireRedis();
  return new CountingStore({
    readDelayMs,
    writeDelayMs,
    inner: new FileRedisStore({ url: server.url, prefix: `e2e${++prefixes}:`, maxSessionsPerUser }),
  });
}

/**
 * Starts the sample app in-process on a platform: configured exactly as
 * `npm run start:sample` would be from `env` (plus PLATFORM and a known
 * SESSION_SECRET and TOKEN_SECRET), listening on an ephemeral port.
 *
 * Like every app the harness starts, it logs to this file's capture
 * (log-capture.ts: every level, nothing printed), and the secrets it is
 * given or hands out are recorded (wire-secrets.ts), for the log-leak check
 * after the file (log-leak.setup.ts).
 */
export async function startSampleApp<TStore extends SessionStore = CountingStore>(
  platform: Platform,
  options: SampleAppOptions<TStore> = {},
): Promise<SampleAppHarness<TStore>> {
  const env = {
    PLATFORM: platform,
    SESSION_SECRET: TEST_SECRET,
    TOKEN_SECRET: TEST_TOKEN_SECRET,
    ...options.env,
  };
  // Before the config is read: it warns through Nest's Logger (a random secret, a generated key).
  captureNestLogs();
  recordEnvironmentSecrets(env);
  const config = readSampleConfig(env);
  const ownStore = options.store === undefined;
  const store = (options.store ?? (await newTestStore())) as TStore;
  const closeStore = async () => {
    if (ownStore) await store.close?.();
  };
  if (!REDIS_PAIR) {
    // No `logger`: Nest's Logger stays on the capture above (createSampleApp takes only `false`).
    const app = await createSampleApp(config, { store });
    return { ...(await serve(app, platform, closeStore)), config, store };
  }
  const pair: RunningApp[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      pair.push(await serve(await createSampleApp(config, { store }), platform));
    }
    const proxy = await startRoundRobinProxy(pair.map((one) => one.http));
    let closed: Promise<void> | undefined;
    return {
      app: pair[0].app,
      instances: pair.map((one) => one.app),
      platform,
      http: proxy.url,
      port: proxy.port,
      config,
      store,
      close: () =>
        (closed ??= (async () => {
          await proxy.close();
          await Promise.all(pair.map((one) => one.close()));
          await closeStore();
        })()),
    };
  } catch (error) {
    await Promise.all(pair.map((one) => one.close()));
    await closeStore();
    throw error;
  }
}

/**
 * Subscribes to the session events of every instance behind `running` (both
 * in redis-pair mode): an event is seen whichever instance emitted it.
 */
export function subscribeSessionEvents(
  running: Pick<RunningApp, 'instances'>,
  listener: (event: SessionEvent) => void,
): Subscription {
  return merge(...running.instances.map((app) => app.get(SessionService).events$)).subscribe(
    listener,
  );
}

/**
 * Starts any Nest app module (e.g. a test-only app defined in a spec) on a
 * platform, listening on an ephemeral port. Logs and secrets as for
 * {@link startSampleApp}.
 */
export async function startTestApp(
  platform: Platform,
  module: unknown,
  { prepare }: TestAppOptions = {},
): Promise<RunningApp> {
  recordEnvironmentSecrets({ SESSION_SECRET: TEST_SECRET, TOKEN_SECRET: TEST_TOKEN_SECRET });
  const options = { logger: captureNestLogs(), abortOnError: false } as const;
  const app =
    platform === 'fastify'
      ? await NestFactory.create(module as never, new FastifyAdapter(), options)
      : await NestFactory.create(module as never, options);
  prepare?.(app);
  return serve(app, platform);
}

/** What a test app needs besides its module. */
export interface TestAppOptions {
  /** Runs after the app is created and before `init()`: e.g. `app.useWebSocketAdapter(...)`. */
  prepare?: (app: INestApplication) => void;
}

async function serve(
  app: INestApplication,
  platform: Platform,
  afterClose?: () => Promise<void>,
): Promise<RunningApp> {
  await app.init();
  fileApps.started++;
  recordOptionSecrets(app);
  recordSecretsOnTheWire(app);
  if (platform === 'fastify') await app.getHttpAdapter().getInstance().ready();
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    app,
    platform,
    http: `http://127.0.0.1:${port}`,
    port,
    instances: [app],
    close: () =>
      (closed ??= (async () => {
        await app.close();
        await afterClose?.();
      })()),
  };
}

/** The sample's demo users' passwords. */
export const PASSWORDS: Record<string, string> = {
  alice: 'alice-password',
  admin: 'admin-password',
};

/** Logs a demo user in (optionally from an existing cookie); answers the new `sid=...` pair. */
export async function logIn(http: string, username = 'alice', cookie?: string): Promise<string> {
  const req = request(http).post('/auth/login').send({ username, password: PASSWORDS[username] });
  if (cookie) req.set('Cookie', cookie);
  const res = await req;
  if (res.status !== 200)
    throw new Error(`login as ${username} answered ${res.status}: ${res.text}`);
  return cookiePair(res);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
