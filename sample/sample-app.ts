import 'reflect-metadata';
import { ValidationPipe, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { WsAdapter } from '@nestjs/platform-ws';
import type { SessionStore } from '../lib/index.js';
import { AppModule } from './app.module.js';
import type { SampleConfig } from './sample.config.js';

/** Builds (without listening) the sample app on the configured platform. */
export async function createSampleApp(
  config: SampleConfig,
  options: { store?: SessionStore; logger?: false } = {},
): Promise<INestApplication> {
  const module = AppModule.register(config, options.store);
  const appOptions = { logger: options.logger, abortOnError: false } as const;
  const app =
    config.platform === 'fastify'
      ? await NestFactory.create(module, new FastifyAdapter(), appOptions)
      : await NestFactory.create(module, appOptions);
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true }));
  // The /ws gateway (sample/ws.module.ts) on plain WebSockets, on either HTTP platform.
  app.useWebSocketAdapter(new WsAdapter(app));
  app.enableShutdownHooks();
  return app;
}
