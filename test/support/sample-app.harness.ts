import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import type { SessionStore } from '../../lib/stores/session-store.interface.js';
import { readSampleConfig, type SampleConfig } from '../../sample/sample.config.js';
import { createSampleApp } from '../../sample/sample-app.js';
import { cookiePair } from './cookies.js';
import { CountingStore } from './counting.store.js';

export type Platform = 'express' | 'fastify';
/** Every spec runs over both: `describe.each(PLATFORMS)('%s', (platform) => ...)`. */
export const PLATFORMS: Platform[] = ['express', 'fastify'];

/** The secret the harness gives the sample (SESSION_SECRET), so tests can sign cookies themselves. */
export const TEST_SECRET = 'e2e-test-secret-0123456789-abcdefghijklmnop';

/** A Nest app listening on 127.0.0.1 for the duration of a describe block. */
export interface RunningApp {
  app: INestApplication;
  platform: Platform;
  /** Base URL, a supertest target: `request(http).get('/me')`. */
  http: string;
  port: number;
  /** Closes the app (and the store the harness made). Idempotent. */
  close(): Promise<void>;
}

export interface SampleAppHarness<TStore extends SessionStore = SessionStore> extends RunningApp {
  config: SampleConfig;
  /** The store the app runs on (a fresh {@link CountingStore} unless one was given). */
  store: TStore;
}

export interface SampleAppOptions<TStore extends SessionStore> {
  /** Environment variables as the sample reads them (DESIGN.md's table), e.g. `SESSION_IDLE_TIMEOUT_MS`. */
  env?: Record<string, string | undefined>;
  /** The store; default a new CountingStore (closed by `close()`). A given store is left open. */
  store?: TStore;
}

/**
 * Starts the sample app in-process on a platform: configured exactly as
 * `npm run start:sample` would be from `env` (plus PLATFORM and a known
 * SESSION_SECRET), listening on an ephemeral port.
 */
export async function startSampleApp<TStore extends SessionStore = CountingStore>(
  platform: Platform,
  options: SampleAppOptions<TStore> = {},
): Promise<SampleAppHarness<TStore>> {
  const config = readSampleConfig({
    PLATFORM: platform,
    SESSION_SECRET: TEST_SECRET,
    ...options.env,
  });
  const ownStore = options.store === undefined;
  const store = (options.store ?? new CountingStore()) as TStore;
  const app = await createSampleApp(config, { store, logger: false });
  const running = await serve(app, platform, async () => {
    if (ownStore) await store.close?.();
  });
  return { ...running, config, store };
}

/**
 * Starts any Nest app module (e.g. a test-only app defined in a spec) on a
 * platform, listening on an ephemeral port.
 */
export async function startTestApp(
  platform: Platform,
  module: unknown,
  afterClose?: () => Promise<void>,
): Promise<RunningApp> {
  const options = { logger: false, abortOnError: false } as const;
  const app =
    platform === 'fastify'
      ? await NestFactory.create(module as never, new FastifyAdapter(), options)
      : await NestFactory.create(module as never, options);
  return serve(app, platform, afterClose);
}

async function serve(
  app: INestApplication,
  platform: Platform,
  afterClose?: () => Promise<void>,
): Promise<RunningApp> {
  await app.init();
  if (platform === 'fastify') await app.getHttpAdapter().getInstance().ready();
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    app,
    platform,
    http: `http://127.0.0.1:${port}`,
    port,
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
