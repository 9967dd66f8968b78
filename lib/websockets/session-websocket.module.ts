import { Module, type DynamicModule } from '@nestjs/common';
import { SessionModule } from '../session.module.js';
import { SocketSessionWatcher } from './socket-session-watcher.js';
import { SocketSessions } from './socket-sessions.js';
import {
  resolveSocketSessionOptions,
  SOCKET_SESSION_OPTIONS,
  type SocketSessionOptions,
} from './socket-session.options.js';
import { WsSessionGuard } from './ws-session.guard.js';

/**
 * Sessions for WebSocket gateways: `SocketSessions` (attach the handshake's
 * session to a socket, close it when the session ends) and `WsSessionGuard`.
 * Import it next to `SessionModule.forRoot()` in the module of the gateway
 * (it reaches the app's SessionService through `forFeature()`, so it works
 * with `isGlobal: false` too).
 * It imports nothing from @nestjs/websockets itself (an optional peer,
 * needed by the gateway anyway).
 */
@Module({})
export class SessionWebSocketModule {
  static forRoot(options: SocketSessionOptions = {}): DynamicModule {
    return {
      module: SessionWebSocketModule,
      imports: [SessionModule.forFeature()],
      providers: [
        { provide: SOCKET_SESSION_OPTIONS, useValue: resolveSocketSessionOptions(options) },
        SocketSessionWatcher,
        SocketSessions,
        WsSessionGuard,
      ],
      exports: [SocketSessions, WsSessionGuard],
    };
  }
}
