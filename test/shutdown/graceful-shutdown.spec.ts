import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { cookiePair, sessionCookie } from '../support/cookies.js';
import { startRedis, type RedisServer } from '../support/redis-servers.js';

/**
 * The real sample process (`npm run start:sample`) on SIGTERM: under load,
 * with a slow upload in flight and a second SIGTERM, it drains and exits
 * with 0, and no write it acknowledged is lost (read back by a fresh
 * process on the same Redis). A drain that hangs ends with 1 at the deadline.
 */

const ROOT = join(import.meta.dirname, '..', '..');
const HOST = '127.0.0.1';
const SESSION_SECRET = 'graceful-shutdown-session-secret-0123456789';
const TOKEN_SECRET = 'graceful-shutdown-token-secret-0123456789ab';
/** The sample compiles its TypeScript at start-up (swc), several seconds on a busy machine. */
const STARTUP_TIMEOUT_MS = 45_000;
const TEST_TIMEOUT_MS = 150_000;
const WRITERS = 4;
const PREF_NAMES = ['theme', 'lang', 'zoom'];
/** Connection errors a client may see once the server stops: none of them is an answer. */
const CUT_OFF = ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'socket hang up'];

// ---------------------------------------------------------------------------------------------
// The sample as a child process

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

interface SampleProcess {
  port: number;
  child: ChildProcess;
  exited: Promise<Exit>;
  /** stdout and stderr so far, for assertions and failure messages. */
  output(): string;
}

/** Every sample process started here: afterAll (or the runner's exit) kills what is left. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function startSample(env: Record<string, string>): Promise<SampleProcess> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--import', '@swc-node/register/esm-register', 'sample/main.ts'],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        NO_COLOR: '1',
        PORT: String(port),
        SESSION_SECRET,
        TOKEN_SECRET,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  running.add(child);
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal, at: Date.now() });
    }),
  );
  const sample = { port, child, exited, output: () => output };
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the sample exited during start-up:\n${output}`);
    }
    const health = await send(port, { method: 'GET', path: '/health' }).catch(() => undefined);
    if (health?.status === 200) return sample;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the sample did not answer GET /health in time:\n${output}`);
    }
    await delay(100);
  }
}

async function killAll(): Promise<void> {
  await Promise.all(
    [...running].map((child) => {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      return gone;
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// HTTP

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

interface Outgoing {
  method: string;
  path: string;
  cookie?: string;
  json?: unknown;
  /** Default: a new connection, closed after the response. */
  agent?: http.Agent;
}

function send(port: number, { method, path, cookie, json, agent }: Outgoing): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const body = json === undefined ? undefined : JSON.stringify(json);
    const req = http.request(
      {
        host: HOST,
        port,
        method,
        path,
        agent: agent ?? false,
        headers: {
          ...(cookie ? { cookie } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
      },
      (res) => readReply(res).then(resolve, reject),
    );
    req.once('error', reject);
    req.end(body);
  });
}

function readReply(res: http.IncomingMessage): Promise<Reply> {
  return new Promise((resolve, reject) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (body += chunk));
    res.once('error', reject);
    // A response cut before its end is not an answer.
    res.once('aborted', () => reject(new Error('socket hang up')));
    res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
  });
}

function errorCode(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  return code ?? message ?? String(error);
}

async function logIn(port: number): Promise<string> {
  const res = await send(port, {
    method: 'POST',
    path: '/auth/login',
    json: { username: 'alice', password: 'alice-password' },
  });
  expect(res.status).toBe(200);
  return cookiePair(res);
}

// ---------------------------------------------------------------------------------------------
// The load: clients writing preferences in a loop

/**
 * One logged-in client writing `PUT /prefs/:name` one at a time over a
 * keep-alive connection, with increasing values, until the server goes away.
 */
class PrefsWriter {
  /** Name -> every value sent, in order (the last one may have landed unanswered). */
  readonly sent = new Map<string, number[]>();
  /** Name -> the last value answered with 200. */
  readonly acknowledged = new Map<string, number>();
  readonly unexpected: string[] = [];
  endedBy = '';
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  private next = 1;

  constructor(
    private readonly port: number,
    public cookie: string,
  ) {}

  async run(): Promise<void> {
    try {
      for (;;) {
        const value = this.next++;
        const name = PREF_NAMES[value % PREF_NAMES.length];
        this.sent.set(name, [...(this.sent.get(name) ?? []), value]);
        const res = await send(this.port, {
          method: 'PUT',
          path: `/prefs/${name}`,
          cookie: this.cookie,
          json: { value },
          agent: this.agent,
        });
        if (res.status !== 200 || res.body !== JSON.stringify({ [name]: value })) {
          this.unexpected.push(`${res.status} ${res.body}`);
          return;
        }
        this.acknowledged.set(name, value);
        const renewed = sessionCookie(res);
        if (renewed && !renewed.cleared) this.cookie = renewed.pair;
      }
    } catch (error) {
      this.endedBy = errorCode(error);
    } finally {
      this.agent.destroy();
    }
  }
}

interface SlowUpload {
  answered: Promise<Reply>;
  request: http.ClientRequest;
}

/**
 * A `PUT /prefs/x` whose JSON body arrives in `pieces`, `pieceDelayMs` apart;
 * the last piece also waits for `lastPieceAfter`, so the test decides what
 * happens while the body is still arriving.
 */
function slowUpload(
  port: number,
  cookie: string,
  value: string,
  {
    pieces,
    pieceDelayMs,
    lastPieceAfter = Promise.resolve(),
  }: {
    pieces: number;
    pieceDelayMs: number;
    lastPieceAfter?: Promise<unknown>;
  },
): SlowUpload {
  const body = Buffer.from(JSON.stringify({ value }));
  const request = http.request({
    host: HOST,
    port,
    method: 'PUT',
    path: '/prefs/x',
    agent: false,
    headers: { cookie, 'content-type': 'application/json', 'content-length': body.length },
  });
  const answered = new Promise<Reply>((resolve, reject) => {
    request.once('response', (res) => readReply(res).then(resolve, reject));
    request.once('error', reject);
  });
  // Stops the pieces (and their timers, which would keep jest alive) once the request is gone.
  const gone = new AbortController();
  request.once('close', () => gone.abort());
  const size = Math.ceil(body.length / pieces);
  void (async () => {
    for (let offset = 0; offset < body.length; offset += size) {
      if (offset > 0) await delay(pieceDelayMs, undefined, { signal: gone.signal });
      if (offset + size >= body.length) await lastPieceAfter;
      if (gone.signal.aborted) return;
      request.write(body.subarray(offset, offset + size));
    }
    request.end();
  })().catch(() => {
    // aborted: the request was destroyed
  });
  return { answered, request };
}

/** A connection that made one request and now sits idle in its agent's pool. */
async function idleKeepAlive(port: number): Promise<{ closed: Promise<number> }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const res = await send(port, { method: 'GET', path: '/health', agent });
  expect(res.status).toBe(200);
  const [socket] = Object.values(agent.freeSockets).flat();
  if (!socket) throw new Error('expected an idle kept-alive socket');
  return { closed: new Promise((resolve) => socket.once('close', () => resolve(Date.now()))) };
}

/** True while the process has neither exited nor been killed. */
function alive(sample: SampleProcess): boolean {
  return sample.child.exitCode === null && sample.child.signalCode === null;
}

/** Resolves once the sample has logged `text` (a shutdown step), so signals are not coalesced. */
async function loggedLine(sample: SampleProcess, text: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!sample.output().includes(text)) {
    if (Date.now() > deadline)
      throw new Error(`the sample never logged "${text}":\n${sample.output()}`);
    await delay(10);
  }
}

// ---------------------------------------------------------------------------------------------

let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await killAll();
  await redis?.stop();
});

describe.each(['express', 'fastify'] as const)(
  'graceful shutdown of the sample (%s)',
  (platform) => {
    const timeoutMs = 1_500;
    let drained: Promise<SampleProcess>;
    let hanging: Promise<SampleProcess>;

    beforeAll(() => {
      // Both start at once: start-up (compiling the TypeScript) is most of this file's time.
      drained = startSample({ PLATFORM: platform, REDIS_URL: redis.url });
      hanging = startSample({
        PLATFORM: platform,
        REDIS_URL: redis.url,
        SHUTDOWN_TIMEOUT_MS: String(timeoutMs),
      });
      // Awaited by the tests, which report a failed start-up; not an unhandled rejection here.
      drained.catch(() => {});
      hanging.catch(() => {});
    });

    it(
      'drains under load on SIGTERM: the slow upload is answered, a second SIGTERM is ignored, exit 0, no acknowledged write lost',
      async () => {
        const sample = await drained;
        const { port } = sample;
        const writers = await Promise.all(
          Array.from({ length: WRITERS }, async () => new PrefsWriter(port, await logIn(port))),
        );
        const slowCookie = await logIn(port);
        const idle = await idleKeepAlive(port);

        const load = Promise.all(writers.map((writer) => writer.run()));
        await delay(400);
        let drainChecked!: () => void;
        const upload = slowUpload(port, slowCookie, `slow-${platform}`, {
          pieces: 5,
          pieceDelayMs: 250,
          // The body is still arriving while the drain starts and the checks below run.
          lastPieceAfter: new Promise<void>((resolve) => (drainChecked = resolve)),
        });
        await delay(500);

        const signalledAt = Date.now();
        sample.child.kill('SIGTERM');
        await loggedLine(sample, 'SIGTERM received: refusing new connections');
        // Handled apart from the first (two pending SIGTERMs would merge into one).
        await delay(100);
        sample.child.kill('SIGTERM');
        await loggedLine(sample, 'SIGTERM received again: ignored');

        // The drain is under way (the upload is still arriving): a new connection is refused.
        const refused = await send(port, { method: 'GET', path: '/health' }).then(
          (res) => `answered ${res.status}`,
          errorCode,
        );
        expect(refused).toBe('ECONNREFUSED');
        expect(alive(sample)).toBe(true);
        // The drain closed the idle keep-alive connection at once, while the upload is still
        // arriving (Express's own keep-alive timeout would close it only after 5 s, Fastify's 72 s).
        expect((await idle.closed) - signalledAt).toBeLessThan(3_000);
        drainChecked();

        const uploaded = await upload.answered;
        expect(uploaded.status).toBe(200);
        expect(JSON.parse(uploaded.body)).toEqual({ x: `slow-${platform}` });
        expect(uploaded.headers.connection).toBe('close');

        const exit = await sample.exited;
        await load;
        expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
        expect(exit.at - signalledAt).toBeLessThan(6_000);
        expect(sample.output()).toContain('Shut down in');

        for (const writer of writers) {
          expect(writer.unexpected).toEqual([]);
          expect(CUT_OFF).toContain(writer.endedBy);
          // Each name was acknowledged at least once before the shutdown.
          expect(writer.acknowledged.size).toBe(PREF_NAMES.length);
        }

        // A fresh process on the same Redis reads every session back.
        const reader = await startSample({ PLATFORM: platform, REDIS_URL: redis.url });
        try {
          for (const writer of writers) {
            const res = await send(reader.port, {
              method: 'GET',
              path: '/prefs',
              cookie: writer.cookie,
            });
            expect(res.status).toBe(200);
            const stored = JSON.parse(res.body) as Record<string, number>;
            for (const name of PREF_NAMES) {
              const acknowledged = writer.acknowledged.get(name)!;
              // The last acknowledged value, or a later one whose answer was cut by the shutdown.
              const allowed = writer.sent.get(name)!.filter((value) => value >= acknowledged);
              expect(allowed).toContain(stored[name]);
            }
          }
          const slow = await send(reader.port, {
            method: 'GET',
            path: '/prefs',
            cookie: slowCookie,
          });
          expect(JSON.parse(slow.body)).toMatchObject({ x: `slow-${platform}` });
        } finally {
          reader.child.kill('SIGTERM');
          expect((await reader.exited).code).toBe(0);
        }
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'exits with 1 at SHUTDOWN_TIMEOUT_MS when the drain hangs (an upload that never finishes)',
      async () => {
        const sample = await hanging;
        const cookie = await logIn(sample.port);
        // Five pieces a minute apart: only the first arrives before the deadline.
        const upload = slowUpload(sample.port, cookie, 'never-finished', {
          pieces: 5,
          pieceDelayMs: 60_000,
        });
        const cut = upload.answered.then(
          () => 'answered',
          (error: unknown) => errorCode(error),
        );
        await delay(500);

        const signalledAt = Date.now();
        sample.child.kill('SIGTERM');
        const exit = await sample.exited;
        upload.request.destroy();

        expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 1, signal: null });
        expect(exit.at - signalledAt).toBeGreaterThanOrEqual(timeoutMs - 100);
        expect(exit.at - signalledAt).toBeLessThan(timeoutMs + 5_000);
        expect(sample.output()).toContain(`did not finish within ${timeoutMs} ms`);
        expect(CUT_OFF).toContain(await cut);
      },
      TEST_TIMEOUT_MS,
    );
  },
);
