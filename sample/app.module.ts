import { Module, type DynamicModule } from '@nestjs/common';
import { RedisStore, SessionModule, type SessionStore } from '../lib/index.js';
import { AppController } from './app.controller.js';
import { AppPageController } from './app-page.controller.js';
import { AuthController } from './auth.controller.js';
import { PrefsController } from './prefs.controller.js';
import type { SampleConfig } from './sample.config.js';
import { createSecurityController } from './security.controller.js';
import { SessionsController } from './sessions.controller.js';
import { UsersService } from './users.service.js';

@Module({})
export class AppModule {
  /** The sample app for a config; `store` overrides the store the config implies (tests). */
  static register(config: SampleConfig, store?: SessionStore): DynamicModule {
    return {
      module: AppModule,
      imports: [
        SessionModule.forRoot({
          secret: config.secrets,
          store: store ?? (config.redisUrl ? new RedisStore({ url: config.redisUrl }) : undefined),
          idleTimeout: config.idleTimeoutMs,
          absoluteTimeout: config.absoluteTimeoutMs,
          // From the config, not only process.env: Secure `__Host-sid` exactly when NODE_ENV=production.
          cookie: { secure: config.production },
          bindTo: config.bindUserAgent ? ['user-agent'] : [],
          csrf: { allowedOrigins: config.csrfAllowedOrigins },
          bruteForce: { maxFailures: config.maxIdFailures, trustProxy: config.trustProxy },
          storeOutage: config.storeOutage,
          rotation: config.rotateEveryMs
            ? { every: config.rotateEveryMs, grace: config.rotationGraceMs }
            : undefined,
        }),
      ],
      controllers: [
        AppController,
        AuthController,
        PrefsController,
        SessionsController,
        AppPageController,
        createSecurityController(config.freshWithinMs),
      ],
      providers: [UsersService],
    };
  }
}
