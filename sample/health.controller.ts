import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { SessionStoreHealthIndicator } from '../lib/index.js';

/**
 * Readiness, with @nestjs/terminus. Liveness stays `GET /health`
 * (AppController), which checks nothing: a store outage must take the
 * instance out of the load balancer's rotation, not get it restarted.
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly sessionStore: SessionStoreHealthIndicator,
  ) {}

  /**
   * GET /health/ready: 200 `{ status: 'ok', info: { session_store: { status:
   * 'up', responseTimeMs } }, ... }` while the session store answers a read;
   * 503 `{ status: 'error', error: { session_store: { status: 'down',
   * message, responseTimeMs } }, ... }` while it does not.
   */
  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.sessionStore.isHealthy('session_store')]);
  }
}
