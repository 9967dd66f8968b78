import { Module, type DynamicModule } from '@nestjs/common';
import {
  publicSessionProviders,
  SESSION_PUBLIC_PROVIDERS,
  SessionCoreModule,
} from './session-core.module.js';
import {
  ConfigurableSessionModule,
  type SESSION_ASYNC_OPTIONS_TYPE,
  type SESSION_OPTIONS_TYPE,
} from './session.module-definition.js';

/**
 * Server-side sessions for the whole app: `SessionModule.forRoot(options)` or
 * `SessionModule.forRootAsync({ imports, inject, useFactory })` (or `useClass` /
 * `useExisting` with a `SessionOptionsFactory`). Options are
 * validated when the app is created, for both.
 *
 * Global by default. With `isGlobal: false`, the providers (SessionService,
 * the guards, TokenService, …) are visible where `forRoot()` is imported, and
 * a feature module imports `SessionModule.forFeature()` for the same
 * instances.
 */
@Module({})
export class SessionModule extends ConfigurableSessionModule {
  static override forRoot(options: typeof SESSION_OPTIONS_TYPE): DynamicModule {
    return SessionModule.aroundCore(super.forRoot(options));
  }

  static override forRootAsync(options: typeof SESSION_ASYNC_OPTIONS_TYPE): DynamicModule {
    return SessionModule.aroundCore(super.forRootAsync(options));
  }

  /**
   * The app's SessionService, guards and TokenService for a feature module,
   * when `forRoot()` / `forRootAsync()` was given `isGlobal: false`; the same
   * instances as the root's (one engine, one store per app). Harmless when the
   * module is global.
   */
  static forFeature(): DynamicModule {
    return {
      module: SessionModule,
      providers: publicSessionProviders(),
      exports: [...SESSION_PUBLIC_PROVIDERS],
    };
  }

  /**
   * Nest's ConfigurableModuleBuilder puts the options provider (and the
   * `imports` an async factory needs) in the module it builds; they move to
   * the core, which holds the engine, and this module only re-exports.
   */
  private static aroundCore(definition: DynamicModule): DynamicModule {
    return {
      module: SessionModule,
      global: definition.global,
      imports: [SessionCoreModule.withOptions(definition)],
      providers: publicSessionProviders(),
      exports: [...SESSION_PUBLIC_PROVIDERS],
    };
  }
}
