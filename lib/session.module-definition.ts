import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { SessionModuleOptions } from './session.options.js';

/**
 * What a class given to `SessionModule.forRootAsync({ useClass })` (or
 * `useExisting`) implements; it may inject anything its module provides.
 */
export interface SessionOptionsFactory {
  /** The options, as `forRoot()` takes them; validated when the app is created. */
  createSessionOptions(): SessionModuleOptions | Promise<SessionModuleOptions>;
}

/**
 * `forRoot()` / `forRootAsync()` come from Nest's ConfigurableModuleBuilder.
 * The module is global by default: sessions are app-wide, and guards and
 * decorators in any module need its providers.
 */
export const {
  ConfigurableModuleClass: ConfigurableSessionModule,
  MODULE_OPTIONS_TOKEN: SESSION_MODULE_OPTIONS,
  OPTIONS_TYPE: SESSION_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: SESSION_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<SessionModuleOptions>({ moduleName: 'Session' })
  .setClassMethodName('forRoot')
  // As cache-manager's `createCacheOptions`: a name that says what `useClass` is for.
  .setFactoryMethodName('createSessionOptions')
  .setExtras({ isGlobal: true }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();

/**
 * The argument of `SessionModule.forRootAsync()`: `imports`, `inject`, and one
 * of `useFactory`, `useClass` or `useExisting` (a {@link SessionOptionsFactory}),
 * plus `isGlobal` (default `true`).
 */
export type SessionModuleAsyncOptions = typeof SESSION_ASYNC_OPTIONS_TYPE;
