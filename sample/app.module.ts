import { Module, type DynamicModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { Registry } from 'prom-client';
import {
  MemoryStore,
  RedisStore,
  SessionModule,
  type SessionStore,
  type SessionTokenOptions,
} from '../lib/index.js';
import { AdminSessionsController } from './admin-sessions.controller.js';
import { AppController } from './app.controller.js';
import { AppPageController } from './app-page.controller.js';
import { AuthController } from './auth.controller.js';
import { GraphQLSampleModule } from './graphql.module.js';
import { HealthController } from './health.controller.js';
import { MetricsController } from './metrics.controller.js';
import { PrefsController } from './prefs.controller.js';
import type { SampleConfig } from './sample.config.js';
import { createSecurityController } from './security.controller.js';
import { SessionsController } from './sessions.controller.js';
import { JwksController, TokensController } from './tokens.controller.js';
import { UsersService } from './users.service.js';
import { SampleWsModule } from './ws.module.js';

/** The store the config implies: Redis on REDIS_URL, else this process's memory. */
function sampleStore(config: SampleConfig): SessionStore {
  const { redisUrl, maxSessionsPerUser, memoryMaxSessions } = config;
  if (redisUrl) return new RedisStore({ url: redisUrl, maxSessionsPerUser });
  return new MemoryStore({ maxSessions: memoryMaxSessions, maxSessionsPerUser });
}

/** SessionModule's `tokens` group from the TOKEN_* settings. */
function sampleTokens(config: SampleConfig): SessionTokenOptions {
  const { keys, ...tokens } = config.tokens;
  return {
    ...(keys.alg === 'HS256'
      ? { secret: keys.secrets }
      : { keys: { alg: keys.alg, kid: keys.kid, privateKey: keys.privateKey } }),
    issuer: tokens.issuer,
    audience: tokens.audience,
    accessTtl: tokens.accessTtlMs,
    refreshTtl: tokens.refreshTtlMs,
    refreshIdle: tokens.refreshIdleMs,
    revocation: tokens.revocation,
    clockTolerance: tokens.clockSkewMs,
    reuseGrace: tokens.reuseGraceMs,
    // Path=/tokens (the library's default): sent to /tokens/refresh and /tokens/logout only.
    refreshCookie: { secure: config.production },
  };
}

@Module({})
export class AppModule {
  /** The sample app for a config; `store` overrides the store the config implies (tests). */
  static register(config: SampleConfig, store?: SessionStore): DynamicModule {
    // One per app, not prom-client's global one: an app made twice in one process (tests) never collides.
    const registry = new Registry();
    return {
      module: AppModule,
      imports: [
        TerminusModule.forRoot(),
        // The WebSocket gateway at /ws (sample-app.ts gives the app the ws adapter).
        SampleWsModule,
        // POST /graphql: Apollo on Express, Mercurius on Fastify (the driver is loaded here, by platform).
        GraphQLSampleModule.forPlatform(config.platform),
        SessionModule.forRoot({
          secret: config.secrets,
          // The module closes whichever store it is given on app shutdown, this one included.
          store: store ?? sampleStore(config),
          idleTimeout: config.idleTimeoutMs,
          absoluteTimeout: config.absoluteTimeoutMs,
          // From the config, not only process.env: Secure `__Host-sid` exactly when NODE_ENV=production.
          cookie: { secure: config.production },
          bindTo: config.bindUserAgent ? ['user-agent'] : [],
          csrf: { allowedOrigins: config.csrfAllowedOrigins },
          bruteForce: { maxFailures: config.maxIdFailures, trustProxy: config.trustProxy },
          storeOutage: config.storeOutage,
          maxSessionBytes: config.maxSessionBytes,
          rotation: config.rotateEveryMs
            ? { every: config.rotateEveryMs, grace: config.rotationGraceMs }
            : undefined,
          tokens: sampleTokens(config),
          metrics: { registry },
          expirySweep: config.expirySweepMs,
        }),
      ],
      controllers: [
        AppController,
        AuthController,
        PrefsController,
        SessionsController,
        AppPageController,
        createSecurityController(config.freshWithinMs),
        TokensController,
        JwksController,
        MetricsController,
        HealthController,
        AdminSessionsController,
      ],
      providers: [UsersService, { provide: Registry, useValue: registry }],
    };
  }
}
