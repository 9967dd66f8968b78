import 'reflect-metadata';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, HttpCode, Module, Post, UseGuards } from '@nestjs/common';
import { createRequire } from 'node:module';
import request from 'supertest';
import { Session, SessionGuard, SessionModule } from '../../lib/index.js';
import { TRACER_NAME } from '../../lib/metrics/store-tracing.js';
import { MemoryStore } from '../../lib/stores/memory.store.js';
import { RedisStore } from '../../lib/stores/redis.store.js';
import type { SessionStore } from '../../lib/stores/session-store.interface.js';
import { setCookies, parseSetCookie } from '../support/cookies.js';
import { startRedis, type RedisServer } from '../support/redis-servers.js';
import { PLATFORMS, startTestApp, type RunningApp } from '../support/sample-app.harness.js';

/**
 * Issue 11 item 3: with `@opentelemetry/api` installed (and an SDK
 * registered by the app), every store call is a span: `session.store
 * <operation>`, CLIENT for a store across the network and INTERNAL for
 * MemoryStore, with the store, the operation and the session kind as
 * attributes, ERROR with the error's type when the store fails. The API and
 * the SDK are loaded with `require`, as the library loads the API: jest's
 * ESM sandbox would otherwise hold a second copy with its own global
 * tracer provider.
 */
const require = createRequire(import.meta.url);
const otel = require('@opentelemetry/api') as typeof import('@opentelemetry/api');
const sdk =
  require('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');

const exporter = new sdk.InMemorySpanExporter();
const provider = new sdk.BasicTracerProvider({
  spanProcessors: [new sdk.SimpleSpanProcessor(exporter)],
});

const SECRET = 'store-tracing-spec-secret-0123456789-abcdefgh';

@Controller()
class TracedController {
  @Post('login')
  @HttpCode(200)
  async login(@Session() session: Session) {
    await session.logIn({ userId: 'traced-user' });
    return { ok: true };
  }

  @Get('me')
  @UseGuards(SessionGuard)
  me(@Session() session: Session) {
    return { userId: session.userId };
  }
}

function tracedModule(store: SessionStore): unknown {
  @Module({
    imports: [SessionModule.forRoot({ secret: SECRET, store, expirySweep: false })],
    controllers: [TracedController],
  })
  class TracedAppModule {}
  return TracedAppModule;
}

beforeAll(() => {
  otel.trace.setGlobalTracerProvider(provider);
});
afterAll(async () => {
  otel.trace.disable();
  await provider.shutdown();
});

const spans = () =>
  exporter.getFinishedSpans().filter((span) => span.instrumentationScope.name === TRACER_NAME);

describe.each(PLATFORMS)('store calls as OpenTelemetry spans (%s)', (platform) => {
  let redis: RedisServer;
  const apps: Record<'memory' | 'redis', RunningApp> = {} as never;

  beforeAll(async () => {
    redis = await startRedis();
    apps.memory = await startTestApp(platform, tracedModule(new MemoryStore()));
    apps.redis = await startTestApp(
      platform,
      tracedModule(new RedisStore({ url: redis.url, prefix: 'traced:' })),
    );
  });
  afterAll(async () => {
    await apps.memory?.close();
    await apps.redis?.close();
    await redis?.stop();
  });
  beforeEach(() => exporter.reset());

  it.each([
    ['memory', 'MemoryStore', otel.SpanKind.INTERNAL],
    ['redis', 'RedisStore', otel.SpanKind.CLIENT],
  ] as const)('%s: a log-in and a read are one span per store call', async (name, store, kind) => {
    const http = apps[name].http;
    const login = await request(http).post('/login');
    expect(login.status).toBe(200);
    const cookie = setCookies(login)
      .map(parseSetCookie)
      .find((c) => c.name === 'sid')!.pair;
    expect(spans().map((s) => s.name)).toEqual(['session.store set']);
    exporter.reset();
    expect((await request(http).get('/me').set('Cookie', cookie)).status).toBe(200);
    const [read] = spans();
    expect(spans()).toHaveLength(1);
    expect(read.name).toBe('session.store get');
    expect(read.kind).toBe(kind);
    expect(read.attributes).toEqual({
      'session.store': store,
      'session.store.operation': 'get',
      'session.kind': 'cookie',
    });
    expect(read.status.code).toBe(otel.SpanStatusCode.UNSET);
    expect(read.endTime[0] * 1e9 + read.endTime[1]).toBeGreaterThanOrEqual(
      read.startTime[0] * 1e9 + read.startTime[1],
    );
  });

  it('a failing store call is an ERROR span with the error type, and no key or message in it', async () => {
    const login = await request(apps.redis.http).post('/login');
    const cookie = setCookies(login)
      .map(parseSetCookie)
      .find((c) => c.name === 'sid')!.pair;
    await redis.kill();
    try {
      exporter.reset();
      const res = await request(apps.redis.http).get('/me').set('Cookie', cookie);
      expect(res.status).toBe(503);
      const failed = spans().find((s) => s.name === 'session.store get');
      expect(failed?.status.code).toBe(otel.SpanStatusCode.ERROR);
      expect(failed?.attributes['error.type']).toEqual(expect.any(String));
      expect(JSON.stringify(failed?.status)).not.toMatch(/traced:/);
    } finally {
      await redis.restart();
    }
  });
});
