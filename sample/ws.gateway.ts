import { UseGuards } from '@nestjs/common';
import { SubscribeMessage, WebSocketGateway, type OnGatewayConnection } from '@nestjs/websockets';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { Session } from '../lib/decorators/session.decorator.js';
import { SocketSessions, WsSessionGuard, type ReadonlySession } from '../lib/index.js';

/**
 * The sample's WebSocket endpoint, `ws://host/ws` (@nestjs/platform-ws): a
 * socket opened with a live session cookie is told `{"event":"session",
 * "data":{"userId":…}}`; without one it is closed with code 4401 and the
 * reason (`no_session`, `idle_timeout`, `revoked`...), and so it is when the
 * session ends later (logout, "log out everywhere", timeout).
 */
@WebSocketGateway({ path: '/ws' })
export class SessionGateway implements OnGatewayConnection {
  constructor(private readonly sockets: SocketSessions) {}

  async handleConnection(client: WebSocket, request: IncomingMessage): Promise<void> {
    const session = await this.sockets.attach(client, request);
    if (session) client.send(JSON.stringify({ event: 'session', data: sessionBody(session) }));
  }

  /** `{"event":"whoami"}` → `{"event":"whoami","data":{"userId":…,"roles":[…]}}`. */
  @UseGuards(WsSessionGuard)
  @SubscribeMessage('whoami')
  whoami(@Session() session: ReadonlySession) {
    return { event: 'whoami', data: sessionBody(session) };
  }
}

function sessionBody(session: ReadonlySession) {
  return { userId: session.userId, roles: session.roles };
}
