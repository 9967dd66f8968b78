/**
 * Sessions for WebSocket gateways (@nestjs/platform-ws, @nestjs/platform-socket.io).
 * Nothing here imports @nestjs/websockets statically: it is an optional peer.
 */
export { SessionWebSocketModule } from './session-websocket.module.js';
export { SocketSessions } from './socket-sessions.js';
export { WsSessionGuard } from './ws-session.guard.js';
export type { WsSessionRefusal } from './ws-exception.js';
export type { ReadonlySession } from './readonly-session.js';
export type { ReadonlyLoadClient } from './readonly-load-request.js';
export type { SocketSessionOptions } from './socket-session.options.js';
export { SESSION_ENDED_EVENT } from './socket-client.js';
