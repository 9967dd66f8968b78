import { Module, type DynamicModule } from '@nestjs/common';
import { SessionModule, type SessionStore } from '../lib/index.js';
import { AppController } from './app.controller.js';
import { AuthController } from './auth.controller.js';
import { PrefsController } from './prefs.controller.js';
import type { SampleConfig } from './sample.config.js';
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
          store,
          idleTimeout: config.idleTimeoutMs,
          absoluteTimeout: config.absoluteTimeoutMs,
          // From the config, not only process.env: Secure `__Host-sid` exactly when NODE_ENV=production.
          cookie: { secure: config.production },
        }),
      ],
      controllers: [AppController, AuthController, PrefsController, SessionsController],
      providers: [UsersService],
    };
  }
}
