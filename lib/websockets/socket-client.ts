import type { IncomingMessage } from 'node:http';

/** What this module needs of a `ws` WebSocket (@nestjs/platform-ws): no import of `ws` itself. */
interface NativeSocket {
  readyState: number;
  close(code?: number, reason?: string): void;
  once(event: 'close', listener: () => void): unknown;
}

/** What this module needs of a socket.io `Socket` (@nestjs/platform-socket.io). */
interface SocketIoSocket {
  readonly request: IncomingMessage;
  readonly connected: boolean;
  emit(event: string, payload: unknown): unknown;
  disconnect(close?: boolean): unknown;
  once(event: 'disconnect', listener: () => void): unknown;
}

/** The event a socket.io client receives, `{ reason }`, right before the server disconnects it. */
export const SESSION_ENDED_EVENT = 'session_ended';

/** `ws` readyState values (the WebSocket specification's). */
const CLOSING = 2;

function isSocketIo(client: object): client is SocketIoSocket {
  // socket.io sockets carry the handshake request and a `disconnect()`; `ws` sockets neither.
  return typeof (client as Partial<SocketIoSocket>).disconnect === 'function';
}

function isNative(client: object): client is NativeSocket {
  return typeof (client as Partial<NativeSocket>).readyState === 'number';
}

/**
 * A gateway's client socket, whichever WebSocket platform it comes from:
 * closing it with a reason and learning when it is gone, the two things
 * the session re-checks need.
 */
export class SocketClient {
  private constructor(private readonly socket: NativeSocket | SocketIoSocket) {}

  /** `undefined` for an object that is neither a `ws` socket nor a socket.io one. */
  static of(client: unknown): SocketClient | undefined {
    if (client === null || typeof client !== 'object') return undefined;
    if (isSocketIo(client) || isNative(client)) return new SocketClient(client);
    return undefined;
  }

  /** The handshake request, where the platform keeps it (socket.io); `ws` sockets do not. */
  get handshakeRequest(): IncomingMessage | undefined {
    return isSocketIo(this.socket) ? this.socket.request : undefined;
  }

  get isOpen(): boolean {
    const socket = this.socket;
    return isSocketIo(socket) ? socket.connected : socket.readyState < CLOSING;
  }

  /**
   * Closes the socket because its session is gone: a `ws` socket with the
   * close `code` and the reason as close reason (e.g. 4401 `revoked`); a
   * socket.io socket, which has no close codes, is sent `session_ended`
   * `{ reason }` first, then disconnected.
   */
  close(code: number, reason: string): void {
    const socket = this.socket;
    if (!this.isOpen) return;
    if (isSocketIo(socket)) {
      socket.emit(SESSION_ENDED_EVENT, { reason });
      socket.disconnect(true);
    } else {
      socket.close(code, reason);
    }
  }

  /** Calls `listener` once when the socket closes (by either side). */
  onClose(listener: () => void): void {
    const socket = this.socket;
    if (isSocketIo(socket)) socket.once('disconnect', listener);
    else socket.once('close', listener);
  }
}
