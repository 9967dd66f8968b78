import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { SessionEngine } from '../session/session.engine.js';
import type { SessionEndReason } from '../session/session.interface.js';
import { SessionStoreUnavailableError } from '../stores/store-outage.js';
import type { LoadedReadonlySession } from './readonly-session.js';
import { recheckSession, type RecordReader } from './session-recheck.js';
import {
  SOCKET_SESSION_OPTIONS,
  type ResolvedSocketSessionOptions,
} from './socket-session.options.js';

/** One live socket whose session is watched. */
interface WatchedSocket {
  session: LoadedReadonlySession;
  /** Closes the socket, telling it why. */
  end(reason: SessionEndReason): void;
}

/**
 * Re-checks the sessions of live sockets, so that a socket whose session
 * ends (logout, revocation, "log out everywhere" from any app instance on
 * the same store, idle or absolute timeout) is closed within about one
 * interval. One timer per app; each tick reads each distinct session once
 * (several sockets of one browser share the read) through the store's
 * `peek` (metadata only, no data) where it has one, else `get`, and through
 * the outage monitor, so a store outage is reported like any other.
 *
 * Nothing is written: the re-checks never touch the session, so a socket
 * alone does not keep it from its idle timeout (HTTP activity does).
 * During a store outage sockets stay open (nothing can be told either way)
 * and are re-checked when it returns.
 */
@Injectable()
export class SocketSessionWatcher implements OnApplicationShutdown {
  private readonly logger = new Logger('SocketSessions');
  /** Watched sockets by the store key of their session. */
  private readonly byKey = new Map<string, Set<WatchedSocket>>();
  private timer?: NodeJS.Timeout;
  private ticking = false;

  constructor(
    private readonly engine: SessionEngine,
    @Inject(SOCKET_SESSION_OPTIONS) private readonly options: ResolvedSocketSessionOptions,
  ) {}

  /** Watches a socket's live session; answers the function that stops watching it (socket closed). */
  watch(session: LoadedReadonlySession, end: (reason: SessionEndReason) => void): () => void {
    const key = session.storeKey;
    if (key === undefined) throw new Error('Only a live session can be watched');
    const watched: WatchedSocket = { session, end };
    this.add(key, watched);
    this.timer ??= setInterval(() => void this.tick(), this.options.recheckIntervalMs).unref();
    return () => this.remove(watched);
  }

  /** How many sockets are watched (for tests and metrics). */
  get size(): number {
    let size = 0;
    for (const sockets of this.byKey.values()) size += sockets.size;
    return size;
  }

  onApplicationShutdown(): void {
    this.stopTimer();
    this.byKey.clear();
  }

  /** One round: each distinct session read once, in parallel; a round still running skips the next. */
  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      await Promise.all([...this.byKey.keys()].map((key) => this.recheck(key)));
    } finally {
      this.ticking = false;
      if (this.byKey.size === 0) this.stopTimer();
    }
  }

  private async recheck(key: string): Promise<void> {
    const sockets = this.byKey.get(key);
    const first = sockets?.values().next().value;
    if (!sockets || !first) return;
    const handle = first.session.handle!;
    let outcome;
    try {
      outcome = await recheckSession(key, handle, this.reader, this.engine.timing, Date.now());
    } catch (error) {
      // An outage is logged and reported by the monitor; anything else is a bug worth a line.
      if (!(error instanceof SessionStoreUnavailableError)) this.logger.error(error);
      return;
    }
    // Sockets may have closed (or joined) while the read was on its way: act on those there now.
    const current = [...(this.byKey.get(key) ?? [])];
    if (!outcome.live) {
      this.byKey.delete(key);
      for (const socket of current) {
        socket.session.ended(outcome.reason);
        socket.end(outcome.reason);
      }
      return;
    }
    if (outcome.key !== key) this.byKey.delete(key);
    for (const socket of current) {
      socket.session.refreshed(outcome.key, outcome.record);
      if (outcome.key !== key) this.add(outcome.key, socket);
    }
  }

  private readonly reader: RecordReader = (key) => {
    const { store, outage } = this.engine;
    return store.peek
      ? outage.run(() => store.peek!(key), 'peek')
      : outage.run(() => store.get(key), 'get');
  };

  private add(key: string, watched: WatchedSocket): void {
    let sockets = this.byKey.get(key);
    if (!sockets) this.byKey.set(key, (sockets = new Set()));
    sockets.add(watched);
  }

  private remove(watched: WatchedSocket): void {
    const key = watched.session.storeKey;
    const sockets = key === undefined ? undefined : this.byKey.get(key);
    sockets?.delete(watched);
    if (key !== undefined && sockets?.size === 0) this.byKey.delete(key);
    if (this.byKey.size === 0) this.stopTimer();
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
