import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Module, type DynamicModule } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { SessionStoreHealthIndicator } from '../../lib/health/session-store.health-indicator.js';
import { SessionModule } from '../../lib/session.module.js';
import { MemoryStore } from '../../lib/stores/memory.store.js';
import { RedisStore } from '../../lib/stores/redis.store.js';
import type { SessionStore } from '../../lib/stores/session-store.interface.js';
import { startRedis, type RedisServer } from '../support/redis-servers.js';
import { PLATFORMS, startTestApp, type RunningApp } from '../support/sample-app.harness.js';

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly sessionStore: SessionStoreHealthIndicator,
  ) {}

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.sessionStore.isHealthy('session_store')]);
  }
}

function healthApp(store: SessionStore): DynamicModule {
  @Module({})
  class HealthApp {}
  return {
    module: HealthApp,
    imports: [
      TerminusModule.forRoot({ logger: false }),
      SessionModule.forRoot({ secret: 'health-spec-secret-0123456789-abcdefgh', store }),
    ],
    controllers: [HealthController],
  };
}

async function ready(running: RunningApp): Promise<{ status: number; body: any }> {
  const res = await fetch(`${running.http}/health/ready`, { signal: AbortSignal.timeout(8_000) });
  return { status: res.status, body: await res.json() };
}

/**
 * Issue 11 item 4: SessionStoreHealthIndicator, with terminus'
 * HealthIndicatorService, on a real redis-server that is killed and
 * restarted: 200 `up` with its round-trip time, 503 `down` while the store
 * is gone, `up` again once it is back.
 */
describe.each(PLATFORMS)('SessionStoreHealthIndicator (%s)', (platform) => {
  let redis: RedisServer;
  let running: RunningApp;

  beforeAll(async () => {
    redis = await startRedis();
    const store = new RedisStore({ url: redis.url, operationTimeoutMs: 300 });
    running = await startTestApp(platform, healthApp(store));
  });
  afterAll(async () => {
    await running?.close();
    await redis?.stop();
  });

  it('is up while Redis answers, down (503) while it is gone, up again when it is back', async () => {
    const up = await ready(running);
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({
      status: 'ok',
      info: { session_store: { status: 'up', responseTimeMs: expect.any(Number) } },
    });

    await redis.kill();
    const down = await ready(running);
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({
      status: 'error',
      error: { session_store: { status: 'down', message: expect.stringMatching(/unavailable/) } },
    });

    await redis.restart();
    let again = await ready(running);
    for (let i = 0; i < 40 && again.status !== 200; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      again = await ready(running);
    }
    expect(again.status).toBe(200);
    expect(again.body.info.session_store.status).toBe('up');
  });

  it('MemoryStore is always up', async () => {
    const memory = await startTestApp(platform, healthApp(new MemoryStore()));
    try {
      expect(await ready(memory)).toMatchObject({
        status: 200,
        body: { info: { session_store: { status: 'up' } } },
      });
    } finally {
      await memory.close();
    }
  });
});
