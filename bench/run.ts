/**
 * `npm run bench`: requests/s and p99 latency of the four session scenarios,
 * side by side with the same app without sessions (the floor), in one run.
 * Targets are started in their own processes and measured in alternating
 * rounds; the table shows medians, and ratios as the median of per-round
 * ratios with their range (how noisy the machine was).
 *
 * Env: BENCH_DURATION (s per measurement, default 3), BENCH_ROUNDS (default 5),
 * BENCH_WARMUP (s of load per target and scenario before measuring, default
 * 5: with less, the first rounds catch a target still warming up),
 * BENCH_CONNECTIONS (default 50), BENCH_PIN (0: no CPU pinning), PLATFORM
 * (express | fastify), BENCH_TARGETS
 * (comma list of floor, memory, redis, peer; default all four), BENCH_SCENARIOS
 * (comma list, default all). `redis` and `peer` (express-session +
 * connect-redis) share one redis-server that this script starts on a free
 * port; their Redis commands per request come from INFO commandstats deltas.
 *
 * Two commits in one run: BENCH_BASELINE=<dir> names another checkout of this
 * repository (e.g. `git worktree add /tmp/base <commit>`, with node_modules
 * linked), and a target `name@base` (`memory@base`, `redis@base`) runs that
 * checkout's bench server, in the same alternating rounds as the others (its
 * Redis target on database 1, so the two never share keys).
 */
import autocannon from 'autocannon';
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { rawCommand, startRedis, type RedisServer } from '../test/support/redis-servers.js';

type Scenario = 'anonymous' | 'auth read' | 'auth write' | 'login';
const ALL_SCENARIOS: Scenario[] = ['anonymous', 'auth read', 'auth write', 'login'];
const SCENARIOS = process.env.BENCH_SCENARIOS
  ? ALL_SCENARIOS.filter((s) => process.env.BENCH_SCENARIOS!.split(',').includes(s))
  : ALL_SCENARIOS;

const duration = Number(process.env.BENCH_DURATION ?? 3);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const warmup = Number(process.env.BENCH_WARMUP ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const platform = process.env.PLATFORM ?? 'express';
const targets = (process.env.BENCH_TARGETS ?? 'floor,memory,redis,peer')
  .split(',')
  .map((t) => t.trim());
const baseline = process.env.BENCH_BASELINE;
/** `redis@base` is a `redis` target of the baseline checkout. */
const kindOf = (name: string) => name.split('@')[0];
const usesRedis = (name: string) => kindOf(name) === 'redis' || kindOf(name) === 'peer';
let redis: RedisServer | undefined;

/**
 * CPU pinning (BENCH_PIN=0 turns it off): each app gets the last core to
 * itself, the load generator and Redis share the others, as Redis would run
 * on other hardware in production. Unpinned, the scheduler moves the three
 * between two cores and the same configuration varies by ±20% per round.
 */
const appCpu = availableParallelism() - 1;
const pinning = process.env.BENCH_PIN !== '0' && appCpu >= 1 && canPin();

function canPin(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Pins every thread of a process to a CPU list (`taskset -a -cp`). */
function pin(pid: number, cpus: string): void {
  execFileSync('taskset', ['-a', '-cp', cpus, String(pid)], { stdio: 'ignore' });
}

interface Running {
  name: string;
  url: string;
  child: ChildProcess;
  cookie: string;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function start(name: string): Promise<Running> {
  const port = await freePort();
  const isBase = name.endsWith('@base');
  if (isBase && !baseline) throw new Error(`${name} needs BENCH_BASELINE (another checkout)`);
  const server = isBase
    ? `${baseline}/bench/server.ts`
    : fileURLToPath(new URL('./server.ts', import.meta.url));
  const child = fork(server, {
    env: {
      ...process.env,
      BENCH_TARGET: kindOf(name),
      PLATFORM: platform,
      PORT: String(port),
      BENCH_REDIS_URL: redis && (isBase ? `${redis.url}/1` : redis.url),
    },
    execArgv: ['--import', '@swc-node/register/esm-register'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`bench target ${name} exited with ${code}`)));
  });
  if (pinning) pin(child.pid!, String(appCpu));
  const url = `http://127.0.0.1:${port}`;
  // One logged-in session for the authenticated scenarios (the floor gets the same header).
  const login = await fetch(`${url}/login`, { method: 'POST' });
  const cookie = (login.headers.get('set-cookie') ?? 'sid=none').split(';')[0];
  return { name, url, child, cookie };
}

function request(target: Running, scenario: Scenario): autocannon.Options {
  const base = { url: target.url, connections, duration };
  switch (scenario) {
    case 'anonymous':
      return { ...base, url: `${target.url}/anon` };
    case 'auth read':
      return { ...base, url: `${target.url}/read`, headers: { cookie: target.cookie } };
    case 'auth write':
      return {
        ...base,
        url: `${target.url}/write`,
        method: 'POST',
        headers: { cookie: target.cookie },
      };
    case 'login':
      return { ...base, url: `${target.url}/login`, method: 'POST' };
  }
}

/** Total commands the bench redis-server has executed (INFO commandstats). */
async function redisCommands(): Promise<number> {
  const info = await rawCommand(redis!.port, 'INFO commandstats');
  let total = 0;
  for (const match of info.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)) {
    if (match[1] !== 'info') total += Number(match[2]);
  }
  return total;
}

/** CPU time (user + system, µs) the target's process has used so far. */
function cpuTime(target: Running): Promise<number> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      const cpu = (message as { cpu?: NodeJS.CpuUsage }).cpu;
      if (!cpu) return;
      target.child.off('message', onMessage);
      resolve(cpu.user + cpu.system);
    };
    target.child.on('message', onMessage);
    target.child.send('cpu');
  });
}

async function measure(target: Running, scenario: Scenario) {
  const before = usesRedis(target.name) ? await redisCommands() : 0;
  const cpuBefore = await cpuTime(target);
  const result = await autocannon(request(target, scenario));
  const cpu = (await cpuTime(target)) - cpuBefore;
  const bad = result.non2xx + result.errors + result.timeouts;
  if (bad > 0) throw new Error(`${target.name} / ${scenario}: ${bad} failed requests`);
  const commands = usesRedis(target.name) ? (await redisCommands()) - before : NaN;
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    cpuPerRequest: cpu / result.requests.total,
    commandsPerRequest: commands / result.requests.total,
  };
}

/** Bytes of Redis memory of one session (MEMORY USAGE of a key under the prefix). */
async function bytesPerSession(prefix: string): Promise<number> {
  const scan = await rawCommand(redis!.port, `SCAN 0 MATCH ${prefix}* COUNT 1000`);
  const key = scan
    .split('\r\n')
    .find(
      (line) =>
        line.startsWith(prefix) && !line.includes(':user:') && !line.startsWith(`${prefix}user:`),
    );
  if (!key) return NaN;
  const reply = await rawCommand(redis!.port, `MEMORY USAGE ${key}`);
  return Number(/^:(\d+)/.exec(reply)?.[1] ?? NaN);
}

/**
 * Median of the per-round ratios (each round measures both targets within
 * seconds of each other, so drift of the machine cancels out), with the
 * range, so a reader sees how noisy the machine was.
 */
function ratio(values: number[], base: number[] | undefined): string {
  if (!base) return '-';
  const perRound = values.map((v, i) => v / base[i]);
  const sorted = [...perRound].sort((a, b) => a - b);
  return `${median(perRound).toFixed(2)} (${sorted[0].toFixed(2)}-${sorted[sorted.length - 1].toFixed(2)})`;
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const running: Running[] = [];
try {
  if (targets.some(usesRedis)) redis = await startRedis();
  if (pinning) {
    const others = appCpu === 1 ? '0' : `0-${appCpu - 1}`;
    pin(process.pid, others);
    if (redis) {
      const info = await rawCommand(redis.port, 'INFO server');
      pin(Number(/process_id:(\d+)/.exec(info)![1]), others);
    }
  }
  for (const name of targets) running.push(await start(name));
  console.log(
    `bench: ${platform}, ${connections} connections, ${duration} s x ${rounds} alternating rounds, targets ${targets.join(', ')}` +
      (pinning
        ? `; apps pinned to CPU ${appCpu}, load generator and Redis to the others`
        : '; unpinned'),
  );
  const rows: string[][] = [];
  for (const scenario of SCENARIOS) {
    const samples = new Map<
      string,
      { rps: number[]; p99: number[]; cpu: number[]; cpr: number[] }
    >();
    for (const target of running) samples.set(target.name, { rps: [], p99: [], cpu: [], cpr: [] });
    // Warm each target up, then alternate so drift (thermal, GC) hits all alike.
    for (const target of running)
      await autocannon({ ...request(target, scenario), duration: warmup });
    for (let round = 0; round < rounds; round++) {
      for (const target of running) {
        const { rps, p99, cpuPerRequest, commandsPerRequest } = await measure(target, scenario);
        const s = samples.get(target.name)!;
        s.rps.push(rps);
        s.p99.push(p99);
        s.cpu.push(cpuPerRequest);
        s.cpr.push(commandsPerRequest);
      }
    }
    const floor = samples.get('floor')?.rps;
    const peer = samples.get('peer')?.rps;
    for (const target of running) {
      const s = samples.get(target.name)!;
      rows.push([
        scenario,
        target.name,
        median(s.rps).toFixed(0),
        median(s.p99).toFixed(1),
        ratio(s.rps, floor),
        ratio(s.rps, peer),
        median(s.cpu).toFixed(0),
        usesRedis(target.name) ? median(s.cpr).toFixed(2) : '-',
      ]);
    }
  }
  const header = [
    'scenario',
    'target',
    'req/s',
    'p99 ms',
    'x floor',
    'x peer',
    'app cpu µs/req',
    'redis cmds/req',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  if (redis) {
    // After the login scenario both stores hold many sessions of the same shape.
    for (const [name, prefix] of [
      ['redis', 'bench:'],
      ['peer', 'peer:'],
    ] as const) {
      if (targets.includes(name)) {
        console.log(`redis memory per session (${name}): ${await bytesPerSession(prefix)} bytes`);
      }
    }
  }
} finally {
  for (const target of running) target.child.kill();
  await redis?.stop();
}
