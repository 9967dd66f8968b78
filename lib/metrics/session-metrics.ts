import { createRequire } from 'node:module';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Observable, Subscription } from 'rxjs';
import type { SessionEvent } from '../events/session-event.js';
import type { SessionStore, SessionStoreStats } from '../stores/session-store.interface.js';

type PromClient = typeof import('prom-client');

/** Store round trips: sub-millisecond on a local Redis, up to the operation timeout. */
const STORE_BUCKETS = [
  0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];
/** How long sessions live: a minute to the two-week refresh family. */
const LIFETIME_BUCKETS = [
  60, 300, 900, 1_800, 3_600, 7_200, 14_400, 28_800, 86_400, 604_800, 1_209_600,
];

/** The metric names (the sample's dashboards and tests rely on them). */
export const METRIC_NAMES = {
  events: 'session_events_total',
  storeOperation: 'session_store_operation_duration_seconds',
  activeSessions: 'session_active_sessions',
  storeMemory: 'session_store_memory_bytes',
  lifetime: 'session_lifetime_seconds',
} as const;

/**
 * The metrics of every SessionModule that writes to one registry. Two apps
 * in one process on prom-client's default registry (or a test that makes
 * the app again) would collide if each registered its own metrics, so they
 * share these: counters add up, the gauges sum every app's store, and the
 * metrics leave the registry with the last app.
 */
class RegistryMetrics {
  readonly events: Counter<'type' | 'reason'>;
  readonly storeOperation: Histogram<'operation'>;
  readonly lifetime: Histogram<'reason'>;
  readonly sources = new Set<SessionStore>();

  constructor(
    client: PromClient,
    private readonly registry: Registry,
  ) {
    const registers = [registry];
    this.events = new client.Counter({
      name: METRIC_NAMES.events,
      help: 'Session lifecycle events, by type and reason (reason "" when the event has none).',
      labelNames: ['type', 'reason'],
      registers,
    });
    this.storeOperation = new client.Histogram({
      name: METRIC_NAMES.storeOperation,
      help: 'Duration of session store operations, failed ones included.',
      labelNames: ['operation'],
      buckets: STORE_BUCKETS,
      registers,
    });
    this.lifetime = new client.Histogram({
      name: METRIC_NAMES.lifetime,
      help: 'How long sessions lived when they ended, by why they ended.',
      labelNames: ['reason'],
      buckets: LIFETIME_BUCKETS,
      registers,
    });
    const sources = this.sources;
    new client.Gauge({
      name: METRIC_NAMES.activeSessions,
      help: 'Sessions the store holds (by its expiry index; includes ones ended within the retention).',
      registers,
      async collect(this: Gauge) {
        const total = await sum(sources, (stats) => stats.activeSessions);
        if (total !== undefined) this.set(total);
      },
    });
    new client.Gauge({
      name: METRIC_NAMES.storeMemory,
      help: "Memory the session store uses, in bytes (Redis: the server's used_memory).",
      registers,
      async collect(this: Gauge) {
        const total = await sum(sources, (stats) => stats.memoryBytes ?? 0);
        if (total !== undefined) this.set(total);
      },
    });
  }

  remove(): void {
    for (const name of Object.values(METRIC_NAMES)) this.registry.removeSingleMetric(name);
  }
}

/** Each registry's shared metrics, with how many modules use them. */
const byRegistry = new WeakMap<Registry, { metrics: RegistryMetrics; users: number }>();

/** The `metrics` option, resolved. */
export interface SessionMetricsSettings {
  /** Where the metrics go; prom-client's default registry when absent. */
  registry?: Registry;
}

/**
 * Prometheus metrics of one SessionModule, with prom-client (an optional
 * peer dependency, loaded only here): events counted by type and reason,
 * store latency per operation, how long sessions lived, and the store's
 * size and memory, read from the store when Prometheus scrapes. No label
 * ever carries a user or session identifier.
 */
export class SessionMetrics {
  private readonly metrics: RegistryMetrics;
  private readonly registry: Registry;
  private subscription?: Subscription;

  constructor(
    settings: SessionMetricsSettings,
    private readonly store: SessionStore,
  ) {
    const client = loadPromClient();
    this.registry = settings.registry ?? client.register;
    let shared = byRegistry.get(this.registry);
    if (!shared) {
      shared = { metrics: new RegistryMetrics(client, this.registry), users: 0 };
      byRegistry.set(this.registry, shared);
    }
    shared.users++;
    this.metrics = shared.metrics;
    if (store.stats) this.metrics.sources.add(store);
  }

  /** Counts every event of `events$` (and the lifetimes of sessions that ended). */
  observe(events$: Observable<SessionEvent>): void {
    this.subscription = events$.subscribe((event) => this.count(event));
  }

  /** One store operation took `seconds` (failed or not). */
  storeOperation(operation: string, seconds: number): void {
    this.metrics.storeOperation.observe({ operation }, seconds);
  }

  /** Stops counting; the last module on a registry takes the metrics out of it. */
  close(): void {
    this.subscription?.unsubscribe();
    this.metrics.sources.delete(this.store);
    const shared = byRegistry.get(this.registry);
    if (shared && --shared.users === 0) {
      shared.metrics.remove();
      byRegistry.delete(this.registry);
    }
  }

  private count(event: SessionEvent): void {
    const reason = event.reason ?? '';
    this.metrics.events.inc({ type: event.type, reason });
    if ((event.type === 'destroyed' || event.type === 'expired') && event.createdAt !== undefined) {
      const lived = Math.max(0, (event.at - event.createdAt) / 1000);
      this.metrics.lifetime.observe({ reason }, lived);
    }
  }
}

/**
 * The stores' stats added up, or `undefined` when one cannot answer: a
 * store that is down has no size to report, so the gauge keeps its last
 * value rather than drop to 0 (the outage shows in events and health).
 */
async function sum(
  stores: Set<SessionStore>,
  pick: (stats: SessionStoreStats) => number,
): Promise<number | undefined> {
  let total = 0;
  for (const store of stores) {
    try {
      total += pick(await store.stats!());
    } catch {
      return undefined;
    }
  }
  return total;
}

function loadPromClient(): PromClient {
  const require = createRequire(import.meta.url);
  try {
    return require('prom-client') as PromClient;
  } catch {
    throw new Error(
      'SessionModule metrics need prom-client. Potential solutions: npm install prom-client, or leave out the metrics option.',
    );
  }
}
