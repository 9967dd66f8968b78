import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** A redis-server started for a test file (or the one named by `REDIS_URL`). */
export interface RedisServer {
  url: string;
  host: string;
  port: number;
  /** Stops the server for good and removes its files. */
  stop(): Promise<void>;
  /**
   * Starts it again on the same port, e.g. after `kill()`: empty, unless it
   * was started `persistent` (then with every write it acknowledged).
   */
  restart(): Promise<void>;
  /** Kills it at once (SIGKILL), as a crash would; `restart()` brings it back. */
  kill(): Promise<void>;
  /**
   * Freezes the process (SIGSTOP): connections stay open and new ones are
   * accepted by the kernel, but nothing is answered, as when Redis hangs or
   * the network drops packets. `resume()` (SIGCONT) lets it carry on.
   */
  pause(): void;
  resume(): void;
}

export interface StartRedisOptions {
  /** With `REDIS_URL` set, use that server instead (not for fault tests). */
  useExternal?: boolean;
  /**
   * Append-only file with an fsync before every reply (`appendonly yes`,
   * `appendfsync always`), kept across `kill()` + `restart()`: a write the
   * server acknowledged survives a crash. Default: no persistence.
   */
  persistent?: boolean;
}

export interface RedisClusterServers {
  nodes: { host: string; port: number }[];
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const INSTALL_HINT =
  'redis-server not found on PATH: install it (apt-get install redis-server, or brew install redis); REDIS_URL=redis://host:port covers only the standalone suites';

/** Every process started here, killed on exit even when a test file forgot its afterAll. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function redisBinary(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'redis-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new Error(INSTALL_HINT);
}

/** A port that is free, and whose cluster bus port (+10000) is free too. */
async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 35_000);
    if ((await canListen(port)) && (await canListen(port + 10_000))) return port;
  }
  throw new Error('no free port found for redis-server');
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

/** Sends one inline command over a raw socket and answers the reply text. */
export function rawCommand(port: number, command: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, HOST);
    let reply = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis on port ${port} did not answer "${command}"`));
    }, timeoutMs);
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      // one reply is enough: a status/error/integer line, or a complete bulk string
      const bulk = /^\$(\d+)\r\n/.exec(reply);
      if (bulk ? reply.length >= bulk[0].length + Number(bulk[1]) + 2 : reply.includes('\r\n')) {
        clearTimeout(timer);
        socket.end();
        resolve(reply);
      }
    });
    socket.write(`${command}\r\n`);
  });
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

interface Proc {
  port: number;
  dir: string;
  child?: ChildProcess;
  start(): Promise<void>;
  halt(signal: NodeJS.Signals): Promise<void>;
}

function redisProcess(binary: string, port: number, extraArgs: string[] = []): Proc {
  const dir = mkdtempSync(join(tmpdir(), 'redis-test-'));
  const proc: Proc = {
    port,
    dir,
    async start() {
      const child = spawn(
        binary,
        [
          '--port',
          String(port),
          '--bind',
          HOST,
          '--save',
          '',
          '--appendonly',
          'no',
          '--dir',
          dir,
          '--protected-mode',
          'no',
          '--loglevel',
          'warning',
          ...extraArgs,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr?.on('data', (chunk) => (stderr += chunk));
      running.add(child);
      child.once('exit', () => running.delete(child));
      proc.child = child;
      await waitUntil(`redis-server on port ${port}`, async () => {
        if (child.exitCode !== null) {
          throw new Error(`redis-server on port ${port} exited: ${stderr.trim()}`);
        }
        return (await rawCommand(port, 'PING', 200)).startsWith('+PONG');
      }).catch((error) => {
        child.kill('SIGKILL');
        throw error;
      });
    },
    async halt(signal) {
      const child = proc.child;
      proc.child = undefined;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      await exited;
    },
  };
  return proc;
}

/**
 * Starts a standalone redis-server on a free port (no persistence, temp dir).
 * With `useExternal` and `REDIS_URL` set, answers that server instead: its
 * `stop()` does nothing and `kill()`/`restart()` throw, so fault tests must
 * not pass `useExternal`.
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  const external = process.env.REDIS_URL;
  if (options.useExternal && external) {
    const parsed = new URL(external);
    const refuse = async () => {
      throw new Error('REDIS_URL server cannot be killed or restarted by tests');
    };
    return {
      url: external,
      host: parsed.hostname,
      port: Number(parsed.port || 6379),
      stop: async () => {},
      restart: refuse,
      kill: refuse,
      pause: () => {
        throw new Error('REDIS_URL server cannot be paused by tests');
      },
      resume: () => {},
    };
  }
  const proc = redisProcess(
    redisBinary(),
    await freePort(),
    options.persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : [],
  );
  await proc.start();
  return {
    url: `redis://${HOST}:${proc.port}`,
    host: HOST,
    port: proc.port,
    async stop() {
      await proc.halt('SIGKILL');
      rmSync(proc.dir, { recursive: true, force: true });
    },
    async restart() {
      await proc.halt('SIGKILL');
      await proc.start();
    },
    kill: () => proc.halt('SIGKILL'),
    pause() {
      proc.child?.kill('SIGSTOP');
    },
    resume() {
      proc.child?.kill('SIGCONT');
    },
  };
}

/**
 * Starts a real Redis Cluster of `masters` masters (no replicas) on free
 * ports, with slots spread evenly, and waits until every node reports
 * `cluster_state:ok` and knows every other node.
 */
export async function startRedisCluster(masters = 3): Promise<RedisClusterServers> {
  const binary = redisBinary();
  const procs: Proc[] = [];
  const stop = async () => {
    await Promise.all(procs.map((proc) => proc.halt('SIGKILL')));
    for (const proc of procs) rmSync(proc.dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      const proc = redisProcess(binary, await freePort(), [
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        'nodes.conf',
        '--cluster-node-timeout',
        '2000',
      ]);
      procs.push(proc);
      await proc.start();
    }
    const per = Math.ceil(16384 / masters);
    for (const [i, proc] of procs.entries()) {
      const first = i * per;
      const last = Math.min(16383, first + per - 1);
      await expectOk(proc.port, `CLUSTER ADDSLOTSRANGE ${first} ${last}`);
    }
    for (const proc of procs.slice(1)) {
      await expectOk(proc.port, `CLUSTER MEET ${HOST} ${procs[0].port}`);
    }
    for (const proc of procs) {
      await waitUntil(
        `cluster node ${proc.port} to be ready`,
        async () => {
          const info = await rawCommand(proc.port, 'CLUSTER INFO');
          return (
            info.includes('cluster_state:ok') &&
            info.includes(`cluster_known_nodes:${masters}`) &&
            info.includes('cluster_slots_ok:16384')
          );
        },
        20_000,
      );
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes: procs.map((proc) => ({ host: HOST, port: proc.port })), stop };
}

async function expectOk(port: number, command: string) {
  const reply = await rawCommand(port, command);
  if (!reply.startsWith('+OK')) throw new Error(`${command} on ${port}: ${reply.trim()}`);
}
