import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Module, Post, type DynamicModule } from '@nestjs/common';
import { Registry } from 'prom-client';
import { Session } from '../../lib/decorators/session.decorator.js';
import type { SessionApi as RequestSession } from '../../lib/session/session.interface.js';
import { SessionModule } from '../../lib/session.module.js';
import { MemoryStore } from '../../lib/stores/memory.store.js';
import { PLATFORMS, startTestApp, type RunningApp } from '../support/sample-app.harness.js';

const SECRET = 'metrics-spec-secret-0123456789-abcdefghij';

@Controller()
class MetricsSpecController {
  @Post('login')
  login(@Session() session: RequestSession) {
    session.logIn({ userId: 'alice', roles: ['user'] });
    return { ok: true };
  }

  @Post('logout')
  async logout(@Session() session: RequestSession) {
    await session.destroy();
    return { ok: true };
  }

  @Get('view')
  view(@Session() session: RequestSession) {
    session.set('views', ((session.get('views') as number | undefined) ?? 0) + 1);
    return { ok: true };
  }
}

function metricsApp(registry: Registry): DynamicModule {
  @Module({})
  class MetricsApp {}
  return {
    module: MetricsApp,
    imports: [
      SessionModule.forRoot({ secret: SECRET, store: new MemoryStore(), metrics: { registry } }),
    ],
    controllers: [MetricsSpecController],
  };
}

function cookieOf(res: Response): string {
  return res.headers.getSetCookie()[0].split(';')[0];
}

/** The value of one sample line of the Prometheus text, or 0 when absent. */
function sample(text: string, line: string): number {
  const found = text.split('\n').find((l) => l.startsWith(line + ' '));
  return found ? Number(found.slice(line.length + 1)) : 0;
}

/**
 * Issue 11 item 3: the metrics move with what sessions do, in the registry
 * the app passes, on both platforms; a second app on the same registry
 * does not collide, and closing the apps takes the metrics out of it.
 */
describe.each(PLATFORMS)('Prometheus metrics (%s)', (platform) => {
  const registry = new Registry();
  let running: RunningApp;

  beforeAll(async () => {
    running = await startTestApp(platform, metricsApp(registry));
  });
  afterAll(() => running?.close());

  it('counts created, rotated (login), destroyed (logout) with store latency, lifetimes and gauges', async () => {
    const before = await registry.metrics();
    const first = await fetch(`${running.http}/view`);
    const anonymous = cookieOf(first);
    const login = await fetch(`${running.http}/login`, {
      method: 'POST',
      headers: { cookie: anonymous },
    });
    const cookie = cookieOf(login);
    await fetch(`${running.http}/logout`, { method: 'POST', headers: { cookie } });
    const after = await registry.metrics();

    const moved = (line: string) => sample(after, line) - sample(before, line);
    expect(moved('session_events_total{type="created",reason=""}')).toBe(1);
    expect(moved('session_events_total{type="rotated",reason="login"}')).toBe(1);
    expect(moved('session_events_total{type="destroyed",reason="logout"}')).toBe(1);
    expect(moved('session_lifetime_seconds_count{reason="logout"}')).toBe(1);
    expect(
      moved('session_store_operation_duration_seconds_count{operation="get"}'),
    ).toBeGreaterThan(0);
    expect(moved('session_store_operation_duration_seconds_count{operation="destroy"}')).toBe(1);
    expect(after).toContain('# TYPE session_active_sessions gauge');
    expect(after).toContain('# TYPE session_store_memory_bytes gauge');
    // No label ever carries a user or a session identifier.
    expect(after).not.toContain('alice');
    expect(after).not.toContain(cookie.split('=')[1].split('.')[0]);
  });

  it('a second app on the same registry does not collide; the last one to close takes the metrics out', async () => {
    const second = await startTestApp(platform, metricsApp(registry));
    await fetch(`${second.http}/view`);
    expect(await registry.metrics()).toContain('session_events_total');
    await second.close();
    expect(registry.getSingleMetric('session_events_total')).toBeDefined();
    const own = new Registry();
    const alone = await startTestApp(platform, metricsApp(own));
    expect(own.getSingleMetric('session_events_total')).toBeDefined();
    await alone.close();
    expect(own.getSingleMetric('session_events_total')).toBeUndefined();
  });
});
