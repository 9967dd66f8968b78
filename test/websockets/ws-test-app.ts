import 'reflect-metadata';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { WsAdapter } from '@nestjs/platform-ws';
import { startTestApp, type Platform, type RunningApp } from '../support/sample-app.harness.js';

export type SocketPlatform = 'ws' | 'socket.io';

/** A Nest app with a WebSocket adapter, listening on 127.0.0.1 (HTTP and WebSockets on one port). */
export type RunningSocketApp = RunningApp;

/**
 * The harness's `startTestApp` with the WebSocket adapter, which must be set
 * before `init()`; same log capture and secret recording, so the log-leak
 * check after the file covers these apps too.
 */
export function startSocketApp(
  platform: Platform,
  sockets: SocketPlatform,
  module: unknown,
): Promise<RunningSocketApp> {
  return startTestApp(platform, module, {
    prepare: (app) =>
      app.useWebSocketAdapter(sockets === 'ws' ? new WsAdapter(app) : new IoAdapter(app)),
  });
}
