import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { SessionEngine } from '../session/session.engine.js';

/** A key no session ever has (store keys are SHA-256 digests): reading it only asks "are you there?". */
const PROBE_KEY = 'health-probe';

/**
 * A `@nestjs/terminus` health indicator for the session store: `up` when
 * the store answers a read (with its round-trip time), `down` otherwise.
 * Use it in a readiness check, never in liveness (a store outage must take
 * the instance out of rotation, not restart it):
 *
 * ```ts
 * @Get('health/ready')
 * @HealthCheck()
 * ready() {
 *   return this.health.check([() => this.sessionStore.isHealthy('session_store')]);
 * }
 * ```
 *
 * `@nestjs/terminus` is an optional peer dependency: it is loaded only when
 * a check runs, and the app must import `TerminusModule`.
 */
@Injectable()
export class SessionStoreHealthIndicator {
  private indicators?: HealthIndicatorService;

  constructor(
    private readonly engine: SessionEngine,
    private readonly moduleRef: ModuleRef,
  ) {}

  async isHealthy<const Key extends string = 'session_store'>(
    key: Key = 'session_store' as Key,
  ): Promise<HealthIndicatorResult<Key>> {
    const indicator = (await this.healthIndicators()).check(key);
    const { store } = this.engine;
    const started = performance.now();
    try {
      // Not through the outage monitor: a probe must not log or count as an app request.
      await (store.peek ? store.peek(PROBE_KEY) : store.get(PROBE_KEY));
      return indicator.up({ responseTimeMs: elapsedMs(started) });
    } catch (error) {
      return indicator.down({
        message: `session store unavailable: ${error instanceof Error ? error.message : String(error)}`,
        responseTimeMs: elapsedMs(started),
      });
    }
  }

  /** terminus' HealthIndicatorService, found where the app's TerminusModule provides it. */
  private async healthIndicators(): Promise<HealthIndicatorService> {
    if (!this.indicators) {
      let terminus: typeof import('@nestjs/terminus');
      try {
        terminus = await import('@nestjs/terminus');
      } catch {
        throw new Error(
          'SessionStoreHealthIndicator needs @nestjs/terminus. Potential solutions: npm install @nestjs/terminus, and import TerminusModule in your app.',
        );
      }
      this.indicators = this.moduleRef.get(terminus.HealthIndicatorService, { strict: false });
    }
    return this.indicators;
  }
}

function elapsedMs(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}
