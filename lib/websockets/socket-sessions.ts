import { Inject, Injectable } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { SessionStoreUnavailableException } from '../session.exceptions.js';
import { SessionService } from '../session.service.js';
import type { LoadedReadonlySession, ReadonlySession } from './readonly-session.js';
import { SocketClient } from './socket-client.js';
import { fillSocketSessionSlot, socketSessionSlot } from './socket-session-slot.js';
import { SocketSessionWatcher } from './socket-session-watcher.js';
import {
  SOCKET_SESSION_OPTIONS,
  type ResolvedSocketSessionOptions,
} from './socket-session.options.js';

/** The WebSocket close code of an unexpected server error. */
const INTERNAL_ERROR = 1011;

/**
 * Gives a gateway's client sockets their session: loaded once, read-only,
 * from the handshake's cookie (`SessionService.fromHandshake()`), cached on
 * the socket for `@Session()` and `WsSessionGuard`, and watched, so the
 * socket is closed (`ws`: close code 4401 with the reason; socket.io:
 * `session_ended { reason }`, then a disconnect) when its session ends.
 */
@Injectable()
export class SocketSessions {
  constructor(
    private readonly sessions: SessionService,
    private readonly watcher: SocketSessionWatcher,
    @Inject(SOCKET_SESSION_OPTIONS) private readonly options: ResolvedSocketSessionOptions,
  ) {}

  /**
   * Call from `handleConnection(client, request)`. Loads the handshake's
   * session and caches it on `client`; without a live, logged-in session
   * (unless `requireAuthenticated: false`) the socket is closed with the
   * reason (`no_session`, `idle_timeout`, `absolute_timeout`, `revoked`,
   * `too_many_invalid_sessions`, `store_unavailable`) and this answers
   * `undefined`. `request` defaults to the socket's own (socket.io keeps it;
   * on @nestjs/platform-ws pass the second argument of `handleConnection`).
   */
  async attach<TData extends object = Record<string, unknown>>(
    client: object,
    request?: IncomingMessage,
  ): Promise<ReadonlySession<TData> | undefined> {
    const socket = SocketClient.of(client);
    if (!socket)
      throw new TypeError('SocketSessions.attach() needs a ws or socket.io client socket');
    const cached = socketSessionSlot(client);
    const loading = cached ?? this.load(socket, request);
    fillSocketSessionSlot(client, loading);
    let session: LoadedReadonlySession;
    try {
      session = await loading;
    } catch (error) {
      if (!(error instanceof SessionStoreUnavailableException)) {
        socket.close(INTERNAL_ERROR, 'internal_error');
        throw error;
      }
      // Fail closed, as HTTP's 503: the client may retry shortly.
      socket.close(this.options.closeCode, error.reason);
      return undefined;
    }
    if (cached) return socket.isOpen ? (session as ReadonlySession<TData>) : undefined;
    const refusal = this.refusal(session);
    if (refusal !== undefined) {
      socket.close(this.options.closeCode, refusal);
      return undefined;
    }
    if (session.storeKey !== undefined && socket.isOpen) {
      const unwatch = this.watcher.watch(session, (reason) =>
        socket.close(this.options.closeCode, reason),
      );
      socket.onClose(unwatch);
    }
    return session as ReadonlySession<TData>;
  }

  /** The session cached on a socket by {@link attach} (or loading), if any. */
  cached(client: object): LoadedReadonlySession | Promise<LoadedReadonlySession> | undefined {
    return socketSessionSlot(client);
  }

  private load(socket: SocketClient, request: IncomingMessage | undefined) {
    const handshake = request ?? socket.handshakeRequest;
    if (!handshake) {
      throw new TypeError(
        'SocketSessions.attach(client, request): on @nestjs/platform-ws pass the handshake request, ' +
          'the second argument of handleConnection(client, request)',
      );
    }
    return this.sessions.fromHandshake(handshake) as Promise<LoadedReadonlySession>;
  }

  /** Why a socket is refused at the handshake, or `undefined` to let it in. */
  private refusal(session: LoadedReadonlySession): string | undefined {
    if (session.guessingRetryAfter !== undefined) return 'too_many_invalid_sessions';
    if (!this.options.requireAuthenticated || session.isAuthenticated) return undefined;
    return session.endReason ?? 'no_session';
  }
}
