import { Controller, Get, Res } from '@nestjs/common';
import { Registry } from 'prom-client';

/** What both platforms' responses offer (Express `res.header`, Fastify `reply.header`). */
interface HeaderSink {
  header(name: string, value: string): unknown;
}

/**
 * Prometheus scrape endpoint. The registry is this app's own (AppModule
 * makes one per app, never prom-client's global default), so an app made
 * twice in one process (tests) never registers a metric twice. A real
 * deployment would serve this on an internal port or behind the network's
 * own access control: it tells how busy the service is.
 */
@Controller('metrics')
export class MetricsController {
  constructor(private readonly registry: Registry) {}

  /**
   * GET /metrics: 200, the registry in the Prometheus text format
   * (`session_events_total`, `session_store_operation_duration_seconds`,
   * `session_active_sessions`, `session_store_memory_bytes`,
   * `session_lifetime_seconds`). Touches no session.
   */
  @Get()
  async scrape(@Res({ passthrough: true }) res: HeaderSink): Promise<string> {
    // The gauges read the store's stats while this runs; the content type goes with the text.
    const text = await this.registry.metrics();
    res.header('Content-Type', this.registry.contentType);
    res.header('Cache-Control', 'no-store');
    return text;
  }
}
