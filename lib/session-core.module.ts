import {
  Inject,
  Logger,
  Module,
  type DynamicModule,
  type MiddlewareConsumer,
  type NestModule,
  type OnApplicationShutdown,
  type OnModuleInit,
  type Provider,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { RotateSessionInterceptor } from './decorators/rotate-session.decorator.js';
import { SessionEventLogger } from './events/session-event-logger.js';
import { SessionEvents } from './events/session-events.js';
import { AccessTokenGuard } from './guards/access-token.guard.js';
import { CsrfGuard } from './guards/csrf.guard.js';
import { SameOriginGuard } from './guards/same-origin.guard.js';
import { SessionGuard } from './guards/session.guard.js';
import { SessionStoreHealthIndicator } from './health/session-store.health-indicator.js';
import { SessionContexts } from './http/session-contexts.js';
import { SessionMetrics } from './metrics/session-metrics.js';
import { SessionEngine } from './session/session.engine.js';
import { RESOLVED_SESSION_OPTIONS } from './session.constants.js';
import { SESSION_MODULE_OPTIONS } from './session.module-definition.js';
import { resolveSessionOptions, type ResolvedSessionOptions } from './session.options.js';
import { SessionService } from './session.service.js';
import { MemoryStore } from './stores/memory.store.js';
import { SessionStore } from './stores/session-store.interface.js';
import { TokenService } from './tokens/token.service.js';

let warnedMemoryStoreInProduction = false;

/** The public providers that are plain classes, built by Nest's injector. */
const SESSION_CLASS_PROVIDERS = [
  SessionContexts,
  SessionService,
  SessionGuard,
  CsrfGuard,
  SameOriginGuard,
  RotateSessionInterceptor,
  // Always provided (forRootAsync options are known only at runtime): TokenService throws on use without `tokens`.
  TokenService,
  AccessTokenGuard,
  SessionStoreHealthIndicator,
] as const;

/**
 * What an app's modules may inject from SessionModule (and what `forFeature()`
 * gives a feature module). `SessionContexts` and `SessionEngine` are here
 * because the guards a feature module's controllers name are built in that
 * module and inject them.
 */
export const SESSION_PUBLIC_PROVIDERS = [
  SessionEngine,
  SessionStore,
  ...SESSION_CLASS_PROVIDERS,
] as const;

type PublicToken = (typeof SESSION_PUBLIC_PROVIDERS)[number];

const nameOf = (token: PublicToken): string =>
  typeof token === 'symbol' ? (token.description ?? 'SessionStore') : token.name;

/**
 * The name under which the always-global core exports each public provider:
 * a symbol nothing outside this package can name, so the core being global
 * makes none of the public names global. Its description is what a Nest DI
 * error shows when `forFeature()` is imported without `forRoot()`.
 */
const CORE_EXPORTS = new Map<PublicToken, symbol>(
  SESSION_PUBLIC_PROVIDERS.map((token) => [
    token,
    Symbol(`${nameOf(token)} of SessionModule.forRoot() (import it in the application module)`),
  ]),
);

/** The public providers, as aliases of the core's instances (one instance per app, however many modules alias it). */
export function publicSessionProviders(): Provider[] {
  return SESSION_PUBLIC_PROVIDERS.map((token) => ({
    provide: token,
    useExisting: CORE_EXPORTS.get(token),
  }));
}

/** Everything the engine needs; global, so guards built in any module of the app reach it. */
const CORE_PROVIDERS: Provider[] = [
  {
    provide: RESOLVED_SESSION_OPTIONS,
    inject: [SESSION_MODULE_OPTIONS],
    useFactory: resolveSessionOptions,
  },
  { provide: SessionEvents, useFactory: () => new SessionEvents() },
  {
    provide: SessionStore,
    inject: [RESOLVED_SESSION_OPTIONS],
    useFactory: (options: ResolvedSessionOptions) => options.store,
  },
  {
    // The engine uses the SessionStore provider, not `options.store`, so
    // `Test.createTestingModule(...).overrideProvider(SessionStore)` reaches it.
    provide: SessionEngine,
    inject: [RESOLVED_SESSION_OPTIONS, SessionEvents, SessionStore],
    useFactory: (options: ResolvedSessionOptions, events: SessionEvents, store: SessionStore) =>
      new SessionEngine(withStore(options, store), events),
  },
  ...SESSION_CLASS_PROVIDERS,
  ...SESSION_PUBLIC_PROVIDERS.map((token) => ({
    provide: CORE_EXPORTS.get(token)!,
    useExisting: token,
  })),
];

/**
 * The options with the store the SessionStore provider gave (the configured
 * one, unless a test overrode the provider); the expiry sweep follows what
 * that store can do.
 */
function withStore(options: ResolvedSessionOptions, store: SessionStore): ResolvedSessionOptions {
  if (store === options.store) return options;
  return {
    ...options,
    store,
    expirySweepMs: store.claimExpired ? options.expirySweepMs : undefined,
  };
}

/**
 * The engine of an app's sessions, with its lifecycle (binding to the
 * platform, metrics, the event log, the sweep, closing the store). Always
 * global but exporting only names private to this package: `SessionModule`
 * decides where the public names are visible (everywhere by default, or
 * where `forRoot()` / `forFeature()` is imported with `isGlobal: false`).
 */
@Module({})
export class SessionCoreModule implements NestModule, OnModuleInit, OnApplicationShutdown {
  /**
   * The core for one `forRoot()` / `forRootAsync()`: the options provider
   * (and the `imports` an async factory injects from) that Nest's
   * ConfigurableModuleBuilder built, with the engine's providers.
   */
  static withOptions(definition: DynamicModule): DynamicModule {
    return {
      module: SessionCoreModule,
      global: true,
      imports: definition.imports ?? [],
      providers: [...(definition.providers ?? []), ...CORE_PROVIDERS],
      exports: [...CORE_EXPORTS.values()],
    };
  }

  constructor(
    private readonly contexts: SessionContexts,
    private readonly adapterHost: HttpAdapterHost,
    private readonly events: SessionEvents,
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
    private readonly engine: SessionEngine,
  ) {}

  private metrics?: SessionMetrics;
  private eventLogger?: SessionEventLogger;

  /** Runs while the app initializes, before routes exist: the moment to hook into the platform. */
  configure(_consumer: MiddlewareConsumer): void {
    this.contexts.install(this.adapterHost);
  }

  onModuleInit(): void {
    if (this.options.metrics) {
      const metrics = new SessionMetrics(this.options.metrics, this.engine.store);
      metrics.observe(this.events.events$);
      this.engine.outage.onCall = (operation, seconds) =>
        metrics.storeOperation(operation, seconds);
      this.metrics = metrics;
    }
    if (this.options.logging) {
      this.eventLogger = new SessionEventLogger(this.options.logging);
      this.eventLogger.observe(this.events.events$);
    }
    // After metrics and the log subscribed: a first sweep's `expired` events are counted.
    this.engine.sweeper?.start();
    if (
      this.engine.store instanceof MemoryStore &&
      process.env.NODE_ENV === 'production' &&
      !warnedMemoryStoreInProduction
    ) {
      warnedMemoryStoreInProduction = true;
      new Logger('SessionModule').warn(
        'MemoryStore in production: sessions live in this process only, are lost on restart and ' +
          'are not shared between instances. Use RedisStore.',
      );
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.engine.sweeper?.stop();
    this.metrics?.close();
    this.eventLogger?.close();
    this.events.complete();
    await this.engine.store.close?.();
    // A store the SessionStore provider was overridden over is still the module's to close.
    if (this.options.store !== this.engine.store) await this.options.store.close?.();
  }
}
