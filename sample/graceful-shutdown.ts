import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Logger, type INestApplication } from '@nestjs/common';

/** The signals that start a shutdown: SIGTERM from an orchestrator, SIGINT from Ctrl-C. */
const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

export interface GracefulShutdownOptions {
  /** SHUTDOWN_TIMEOUT_MS: past it the process exits with code 1, whatever is still running. */
  timeoutMs: number;
}

/**
 * Shuts the sample down on SIGTERM or SIGINT without losing work:
 *
 * 1. The listening socket closes: new connections are refused (ECONNREFUSED).
 * 2. Requests already on their way (a body still arriving included) run to
 *    the end, session commit included: the library commits before the
 *    response goes out, so a finished response is a committed session. Each
 *    response sent from now on carries `Connection: close`, and keep-alive
 *    connections with no request in flight are closed at once, so the drain
 *    never waits for a client that is merely idle (Fastify keeps those open
 *    for 72 s by default, Express for 5 s).
 * 3. Once the last connection has ended, `app.close()` runs Nest's shutdown
 *    (`onApplicationShutdown`: the session sweeper stops, the store closes),
 *    then the process exits with code 0.
 *
 * A repeated signal is logged and ignored: the drain is not cut short. If it
 * hangs (a client that never finishes its body, a store that never answers),
 * the deadline exits with code 1.
 *
 * Both platforms serve from a Node `http.Server` (`app.getHttpServer()`),
 * and the drain works on that server, so it is the same for Express and
 * Fastify. Fastify's own `return503OnClosing` and `forceCloseConnections`
 * act inside `fastify.close()`, which `app.close()` reaches only after the
 * server is drained, so they never come into play; Nest's
 * `forceCloseConnections` is not used either, as it destroys every open
 * connection, in-flight requests too.
 *
 * Why not `app.enableShutdownHooks()` (which `createSampleApp` calls, for
 * the in-process tests): its signal handler starts Nest's shutdown at once,
 * with no deadline and no log of a second signal, and it ends by re-raising
 * the signal, so the process dies of SIGTERM (exit status 143) rather than
 * exiting with 0. The process's entry point owns its signals, so its
 * listeners are replaced here.
 */
export function installGracefulShutdown(
  app: INestApplication,
  options: GracefulShutdownOptions,
): void {
  const logger = new Logger('Shutdown');
  const server = app.getHttpServer() as Server;
  const connections = new ConnectionDrain(server);
  let shutdown: Promise<void> | undefined;

  const onSignal = (signal: NodeJS.Signals) => {
    if (shutdown) {
      logger.warn(`${signal} received again: ignored, the drain goes on`);
      return;
    }
    logger.log(
      `${signal} received: refusing new connections, finishing ${connections.inFlight} request(s) (deadline ${options.timeoutMs} ms)`,
    );
    shutdown = shutDown(app, connections, options, logger);
  };
  for (const signal of SHUTDOWN_SIGNALS) {
    // Drops the listeners enableShutdownHooks() registered (see above).
    process.removeAllListeners(signal);
    process.on(signal, onSignal);
  }
}

async function shutDown(
  app: INestApplication,
  connections: ConnectionDrain,
  { timeoutMs }: GracefulShutdownOptions,
  logger: Logger,
): Promise<void> {
  const startedAt = Date.now();
  // Not unref()'d: if the drain waits on a promise that nothing keeps alive,
  // the process must still end with 1 here rather than quietly with 0.
  setTimeout(() => {
    logger.error(
      `Shutdown did not finish within ${timeoutMs} ms (${connections.inFlight} request(s) still open): exiting with code 1`,
    );
    process.exit(1);
  }, timeoutMs);
  try {
    await connections.drain();
    logger.log(`HTTP server drained in ${Date.now() - startedAt} ms; closing the app`);
    await app.close();
    logger.log(`Shut down in ${Date.now() - startedAt} ms`);
    // Explicit: a handle left open by a dependency must not keep a finished process alive.
    process.exit(0);
  } catch (error) {
    logger.error('Shutdown failed: exiting with code 1', error as Error);
    process.exit(1);
  }
}

/**
 * The connections of one `http.Server`, seen from its `request` events: which
 * responses are in flight, and how to let them finish while closing the rest.
 */
class ConnectionDrain {
  private readonly responses = new Set<ServerResponse>();
  private draining = false;

  constructor(private readonly server: Server) {
    server.on('request', (_req: IncomingMessage, res: ServerResponse) => this.track(res));
  }

  get inFlight(): number {
    return this.responses.size;
  }

  /** Stops accepting connections; resolves once every connection has ended. */
  drain(): Promise<void> {
    this.draining = true;
    for (const res of this.responses) this.endConnectionAfter(res);
    return new Promise((resolve, reject) => {
      // close() stops listening and (Node 19+) closes the connections idle right now;
      // its callback runs when the last connection has ended.
      this.server.close((error) => (error ? reject(error) : resolve()));
    });
  }

  private track(res: ServerResponse): void {
    this.responses.add(res);
    // A request that arrives during the drain on a kept-alive connection is served, once.
    if (this.draining) this.endConnectionAfter(res);
    res.once('close', () => this.responses.delete(res));
  }

  /** The connection ends once this response has gone out. */
  private endConnectionAfter(res: ServerResponse): void {
    if (!res.headersSent) {
      // Node then ends the connection after the response, and the client knows not to reuse it.
      res.setHeader('Connection', 'close');
      return;
    }
    // Too late to tell the client: once this response is out its connection is idle, so close it.
    res.once('finish', () => this.server.closeIdleConnections());
  }
}
