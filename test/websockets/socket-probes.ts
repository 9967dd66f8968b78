import { io, type Socket } from 'socket.io-client';
import { WebSocket } from 'ws';

/** How a socket ended, and when (performance.now()). */
export interface SocketEnd {
  code: number;
  reason: string;
  at: number;
}

/** A client socket under test: what it received, and its end. */
export interface SocketProbe {
  /** The next message of an event (`{event, data}` on ws, an emitted event on socket.io): its data. */
  next(event: string, timeoutMs?: number): Promise<unknown>;
  send(event: string, data?: unknown): void;
  /** Settles when the socket is closed (ws: close code and reason; socket.io: 4401 + `session_ended` reason, or the disconnect reason). */
  ended: Promise<SocketEnd>;
  close(): void;
}

/** Every probe opened by the file, closed by {@link closeAllProbes} in afterEach. */
const open = new Set<SocketProbe>();

export function closeAllProbes(): void {
  for (const probe of open) probe.close();
  open.clear();
}

function waiter(timeoutMs: number, what: string) {
  let settle!: (value: unknown) => void;
  let fail!: (error: Error) => void;
  const promise = new Promise<unknown>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  const timer = setTimeout(() => fail(new Error(`timed out waiting for ${what}`)), timeoutMs);
  return {
    promise,
    resolve: (value: unknown) => {
      clearTimeout(timer);
      settle(value);
    },
  };
}

/** A probe over queued events: `next()` answers a queued one, or waits for it. */
function eventQueue() {
  const queued = new Map<string, unknown[]>();
  const waiting = new Map<string, ((data: unknown) => void)[]>();
  return {
    push(event: string, data: unknown) {
      const waiter = waiting.get(event)?.shift();
      if (waiter) waiter(data);
      else queued.set(event, [...(queued.get(event) ?? []), data]);
    },
    next(event: string, timeoutMs = 3000): Promise<unknown> {
      const list = queued.get(event);
      if (list?.length) return Promise.resolve(list.shift());
      const wait = waiter(timeoutMs, `event '${event}'`);
      waiting.set(event, [...(waiting.get(event) ?? []), wait.resolve]);
      return wait.promise;
    },
  };
}

/** A `ws` client on `url`, sending `cookie` (and a User-Agent) with the handshake. */
export function openWs(url: string, cookie?: string): SocketProbe {
  const headers: Record<string, string> = { 'user-agent': 'ws-spec' };
  if (cookie) headers.cookie = cookie;
  const socket = new WebSocket(url, { headers });
  const events = eventQueue();
  socket.on('message', (raw) => {
    const { event, data } = JSON.parse(String(raw)) as { event: string; data: unknown };
    events.push(event, data);
  });
  socket.on('error', () => {}); // a refused handshake also ends in 'close'
  const ended = new Promise<SocketEnd>((resolve) =>
    socket.once('close', (code, reason) =>
      resolve({ code, reason: reason.toString('utf8'), at: performance.now() }),
    ),
  );
  const probe: SocketProbe = {
    next: events.next,
    send: (event, data = {}) => {
      const sendNow = () => socket.send(JSON.stringify({ event, data }));
      if (socket.readyState === WebSocket.OPEN) sendNow();
      else socket.once('open', sendNow);
    },
    ended,
    close: () => socket.terminate(),
  };
  open.add(probe);
  return probe;
}

/** A socket.io client on `origin` (namespace `namespace`), sending `cookie` with the handshake. */
export function openSocketIo(origin: string, cookie?: string, namespace = '/'): SocketProbe {
  const extraHeaders: Record<string, string> = { 'user-agent': 'ws-spec' };
  if (cookie) extraHeaders.cookie = cookie;
  const socket: Socket = io(origin + namespace, {
    transports: ['websocket'],
    extraHeaders,
    reconnection: false,
    forceNew: true,
  });
  const events = eventQueue();
  socket.onAny((event: string, data: unknown) => events.push(event, data));
  let endedWith: string | undefined;
  socket.on('session_ended', (data: { reason: string }) => (endedWith = data.reason));
  const ended = new Promise<SocketEnd>((resolve) =>
    socket.once('disconnect', (reason) =>
      resolve({
        code: endedWith === undefined ? 1000 : 4401,
        reason: endedWith ?? reason,
        at: performance.now(),
      }),
    ),
  );
  const probe: SocketProbe = {
    next: events.next,
    send: (event, data = {}) => void socket.emit(event, data),
    ended,
    close: () => void socket.disconnect(),
  };
  open.add(probe);
  return probe;
}
