import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { WsAdapter } from '@nestjs/platform-ws';
import type { AddressInfo } from 'node:net';
import { captureNestLogs, fileApps } from '../support/log-capture.js';
import type { Platform } from '../support/sample-app.harness.js';
import {
  recordEnvironmentSecrets,
  recordOptionSecrets,
  recordSecretsOnTheWire,
} from '../support/wire-secrets.js';

export type SocketPlatform = 'ws' | 'socket.io';

/** A Nest app with a WebSocket adapter, listening on 127.0.0.1 (HTTP and WebSockets on one port). */
export interface RunningSocketApp {
  app: INestApplication;
  http: string;
  port: number;
  close(): Promise<void>;
}

/**
 * `startTestApp` of the harness, plus the WebSocket adapter, which must be
 * set before `init()`: same log capture and secret recording, so the
 * log-leak check after the file covers these apps too.
 */
export async function startSocketApp(
  platform: Platform,
  sockets: SocketPlatform,
  module: unknown,
  secret: string,
): Promise<RunningSocketApp> {
  recordEnvironmentSecrets({ SESSION_SECRET: secret });
  const options = { logger: captureNestLogs(), abortOnError: false } as const;
  const app =
    platform === 'fastify'
      ? await NestFactory.create(module as never, new FastifyAdapter(), options)
      : await NestFactory.create(module as never, options);
  app.useWebSocketAdapter(sockets === 'ws' ? new WsAdapter(app) : new IoAdapter(app));
  await app.init();
  fileApps.started++;
  recordOptionSecrets(app);
  recordSecretsOnTheWire(app);
  if (platform === 'fastify') await app.getHttpAdapter().getInstance().ready();
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    app,
    http: `http://127.0.0.1:${port}`,
    port,
    close: () => (closed ??= app.close()),
  };
}
