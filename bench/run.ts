/**
 * `npm run bench`: requests/s and p99 latency of the session scenarios
 * (four cookie ones, four of token sessions), side by side with the same
 * app without sessions (the floor, of the same platform), in one run.
 * Targets are started in their own processes and measured in alternating
 * rounds; the table shows medians, and ratios as the median of per-round
 * ratios with their range (how noisy the machine was). `cpu x floor` is
 * the floor's app CPU per request over the target's (per-round median): the
 * ratio of req/s the app's core allows, steadier on a busy machine.
 *
 * Env (all optional; defaults give the full run):
 * - BENCH_SCENARIOS: comma list of `anonymous`, `auth read`, `auth write`,
 *   `login`, `bearer none`, `bearer strict`, `bearer cold`, `refresh`
 *   (default all eight);
 * - BENCH_TARGETS: comma list of `floor`, `memory`, `redis`, `peer` (and
 *   `memory@base`, `redis@base`, below); default `floor,memory,redis,peer`;
 * - BENCH_PLATFORMS: comma list of `express`, `fastify`, measured one after
 *   the other, each with its own targets and floor, in one table (default:
 *   PLATFORM, else `express`); PLATFORM: one platform (the older knob);
 * - BENCH_DURATION (s per measurement, default 3), BENCH_ROUNDS (default 5),
 *   BENCH_WARMUP (s of load per target and scenario before measuring,
 *   default 5: with less, the first rounds catch a target still warming
 *   up), BENCH_CONNECTIONS (default 50), BENCH_COLD_TOKENS (`bearer cold`'s
 *   pool, default 12000), BENCH_PIN (`0`: no CPU pinning), BENCH_BASELINE.
 * A short run, e.g.: BENCH_PLATFORMS=express,fastify BENCH_TARGETS=floor,memory
 * BENCH_SCENARIOS='bearer none,bearer strict' BENCH_ROUNDS=3 BENCH_DURATION=2
 * BENCH_WARMUP=2 npm run bench
 *
 * `redis` and `peer` (express-session + connect-redis; Express whatever the
 * platform) share one redis-server that this script starts on a free
 * port; their Redis commands and time per request come from INFO
 * commandstats deltas (`redis µs/req`: a script's usec includes the
 * commands it ran, e.g. refresh's one EVALSHA), Redis CPU from INFO cpu.
 * The store calls per request (by method) of `memory` and `redis` are
 * counted in the app (bench/server.ts), per request the app received.
 *
 * Token scenarios: `bearer none` and `bearer strict` (GET /bearer behind
 * AccessTokenGuard, `Authorization: Bearer` with one access token made at
 * startup, revocation 'none' / 'strict': after the first request, a hit in
 * TokenService's verified-token cache), `bearer cold` (revocation 'none',
 * every request another of BENCH_COLD_TOKENS tokens, more
 * than that cache holds (10,000), so each one is verified by jose: the
 * cost of a token's first request), `refresh` (each request redeems a
 * refresh token; every connection carries its own chain, fresh families per
 * measurement). `memory` and `redis` run them in processes of their own,
 * configured with `tokens` (one per revocation mode); the floor serves them
 * too; `peer` has no tokens and sits them out. At the end the run checks
 * issue 10's targets: bearer 'none' ≥ 0.90 x floor on Express, ≥ 0.80 on
 * Fastify; 'strict' exactly one store call (peek) per request, 'none' none.
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

type Scenario =
  | 'anonymous'
  | 'auth read'
  | 'auth write'
  | 'login'
  | 'bearer none'
  | 'bearer strict'
  | 'bearer cold'
  | 'refresh';
const ALL_SCENARIOS: Scenario[] = [
  'anonymous',
  'auth read',
  'auth write',
  'login',
  'bearer none',
  'bearer strict',
  'bearer cold',
  'refresh',
];
const asked = process.env.BENCH_SCENARIOS?.split(',').map((s) => s.trim());
for (const name of asked ?? []) {
  if (!ALL_SCENARIOS.includes(name as Scenario)) {
    throw new Error(`unknown scenario '${name}' (BENCH_SCENARIOS: ${ALL_SCENARIOS.join(', ')})`);
  }
}
const SCENARIOS = asked ? ALL_SCENARIOS.filter((s) => asked.includes(s)) : ALL_SCENARIOS;

const duration = Number(process.env.BENCH_DURATION ?? 3);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const warmup = Number(process.env.BENCH_WARMUP ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const coldTokens = Number(process.env.BENCH_COLD_TOKENS ?? 12_000);
type Platform = 'express' | 'fastify';
/** BENCH_PLATFORMS (comma list), else PLATFORM, else Express alone. */
const platforms = (process.env.BENCH_PLATFORMS ?? process.env.PLATFORM ?? 'express')
  .split(',')
  .map((p) => p.trim())
  .filter((p) => p !== '') as Platform[];
for (const p of platforms) {
  if (p !== 'express' && p !== 'fastify') throw new Error(`unknown platform ${p}`);
}
const targets = (process.env.BENCH_TARGETS ?? 'floor,memory,redis,peer')
  .split(',')
  .map((t) => t.trim());
const baseline = process.env.BENCH_BASELINE;
/** `redis@base` is a `redis` target of the baseline checkout. */
const kindOf = (name: string) => name.split('@')[0];
const usesRedis = (name: string) => kindOf(name) === 'redis' || kindOf(name) === 'peer';
let redis: RedisServer | undefined;

/** The app a scenario runs on: the cookie one, or a token one with that revocation mode. */
type AppConfig = 'cookie' | 'none' | 'strict';
const configOf = (scenario: Scenario): AppConfig =>
  scenario === 'bearer none' || scenario === 'bearer cold'
    ? 'none'
    : scenario === 'bearer strict' || scenario === 'refresh'
      ? 'strict'
      : 'cookie';
/** The processes a target needs: the floor serves every route, the peer only the cookie ones. */
function configsOf(name: string): AppConfig[] {
  const needed = [...new Set(SCENARIOS.map(configOf))];
  if (kindOf(name) === 'floor') return ['cookie'];
  if (kindOf(name) === 'peer') return needed.includes('cookie') ? ['cookie'] : [];
  return needed;
}
const serves = (target: Running, scenario: Scenario) =>
  kindOf(target.name) === 'floor' || target.config === configOf(scenario);

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
  platform: Platform;
  config: AppConfig;
  url: string;
  child: ChildProcess;
  cookie: string;
  /** The bearer scenarios' access token (from POST /tokens/login at startup). */
  accessToken?: string;
  /** `bearer cold`: more distinct access tokens than the verified-token cache holds. */
  coldTokens?: string[];
  /**
   * Where `bearer cold` goes on in the pool: kept across loads, or each load
   * would start over on the tokens the last one just left in the cache.
   */
  coldNext: number;
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

async function start(
  name: string,
  config: AppConfig,
  platform: Platform,
): Promise<Running | undefined> {
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
      BENCH_TOKENS: config === 'cookie' ? '' : config,
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
  const running: Running = {
    ...{ name, platform, config, url, child },
    ...{ cookie: 'sid=none', coldNext: 0 },
  };
  if (config === 'cookie') {
    // One logged-in session for the authenticated scenarios (the floor gets the same header).
    const login = await fetch(`${url}/login`, { method: 'POST' });
    running.cookie = (login.headers.get('set-cookie') ?? 'sid=none').split(';')[0];
  }
  if (config !== 'cookie' || (kindOf(name) === 'floor' && SCENARIOS.some(isTokenScenario))) {
    // One token log-in for the bearer scenarios (the floor answers a pair of the same shape).
    const pair = await tokenLogIn(url, 'bearer');
    if (!pair) {
      // e.g. a BENCH_BASELINE checkout from before the token routes
      console.log(
        `bench: ${name} has no token routes (POST /tokens/login): left out of the token scenarios`,
      );
      child.kill();
      return undefined;
    }
    running.accessToken = pair.accessToken;
  }
  return running;
}

const isTokenScenario = (scenario: Scenario) => configOf(scenario) !== 'cookie';

/** POST /tokens/login for `userId`: the pair, or `undefined` if the target has no such route. */
async function tokenLogIn(
  url: string,
  userId: string,
): Promise<{ accessToken: string; refreshToken: string } | undefined> {
  const response = await fetch(`${url}/tokens/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId }),
  });
  if (!response.ok) return undefined;
  return (await response.json()) as { accessToken: string; refreshToken: string };
}

/** `bearer cold`'s pool: BENCH_COLD_TOKENS distinct access tokens (POST /tokens/batch). */
async function tokenBatch(target: Running): Promise<string[]> {
  const response = await fetch(`${target.url}/tokens/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ count: coldTokens }),
  });
  if (!response.ok)
    throw new Error(`${target.name}: POST /tokens/batch answered ${response.status}`);
  return (await response.json()) as string[];
}

let chainUsers = 0;
/**
 * One fresh refresh-token family per connection (each of its own user, so
 * no per-user cap ever evicts one), made before each load. Fresh per load:
 * a refresh still in flight when autocannon stops has used its token up,
 * and the chain's next request would be a reuse.
 */
async function newChains(target: Running): Promise<string[]> {
  return Promise.all(
    Array.from({ length: connections }, async () => {
      const pair = await tokenLogIn(target.url, `chain-${++chainUsers}`);
      if (!pair) throw new Error(`${target.name}: POST /tokens/login failed`);
      return pair.refreshToken;
    }),
  );
}

function request(target: Running, scenario: Scenario, chains: string[] = []): autocannon.Options {
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
    case 'bearer none':
    case 'bearer strict':
      return {
        ...base,
        url: `${target.url}/bearer`,
        headers: { authorization: `Bearer ${target.accessToken}` },
      };
    case 'bearer cold': {
      // One after the other, round the pool, across all connections: every token misses the cache.
      const pool = target.coldTokens!;
      return {
        ...base,
        url: `${target.url}/bearer`,
        requests: [
          {
            setupRequest(req) {
              const authorization = `Bearer ${pool[target.coldNext++ % pool.length]}`;
              req.headers = { ...req.headers, authorization };
              return req;
            },
          },
        ],
      };
    }
    case 'refresh': {
      // Each connection redeems its chain's token and carries the next one (from the body) on.
      let clients = 0;
      return {
        ...base,
        url: `${target.url}/tokens/refresh`,
        method: 'POST',
        setupClient(client) {
          const chain = clients++ % chains.length;
          client.setRequests([
            {
              method: 'POST',
              path: '/tokens/refresh',
              headers: { 'content-type': 'application/json' },
              setupRequest(req) {
                req.body = JSON.stringify({ refreshToken: chains[chain] });
                return req;
              },
              onResponse(status, body) {
                if (status === 200) chains[chain] = (JSON.parse(body) as TokenBody).refreshToken;
              },
            },
          ]);
        },
      };
    }
  }
}

interface TokenBody {
  refreshToken: string;
}

/** The load of one warm-up or measurement: refresh gets fresh chains first. */
async function load(target: Running, scenario: Scenario, seconds = duration) {
  const chains = scenario === 'refresh' ? await newChains(target) : [];
  return { ...request(target, scenario, chains), duration: seconds };
}

/** Calls and time (µs) per command name. */
type CommandCounts = Map<string, { calls: number; usec: number }>;

/**
 * What the bench redis-server has done so far: calls and time of each
 * command (INFO commandstats; commands a Lua script runs count too, and a
 * script's own time includes theirs), and its main thread's CPU time (µs,
 * INFO cpu: commands plus parsing and socket I/O).
 */
async function redisStats(): Promise<{ commands: CommandCounts; cpu: number }> {
  const stats = await rawCommand(redis!.port, 'INFO commandstats');
  const commands: CommandCounts = new Map();
  for (const match of stats.matchAll(/^cmdstat_([\w|]+):calls=(\d+),usec=(\d+)/gm)) {
    if (match[1] !== 'info') {
      commands.set(match[1], { calls: Number(match[2]), usec: Number(match[3]) });
    }
  }
  const info = await rawCommand(redis!.port, 'INFO cpu');
  const seconds = (name: string) =>
    Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
  return {
    commands,
    cpu: (seconds('used_cpu_user_main_thread') + seconds('used_cpu_sys_main_thread')) * 1e6,
  };
}

function commandDelta(after: CommandCounts, before: CommandCounts): CommandCounts {
  const delta: CommandCounts = new Map();
  for (const [name, { calls, usec }] of after) {
    const was = before.get(name) ?? { calls: 0, usec: 0 };
    if (calls > was.calls) delta.set(name, { calls: calls - was.calls, usec: usec - was.usec });
  }
  return delta;
}

const SCRIPT_COMMANDS = new Set(['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro']);

/**
 * Redis time of what the app sent: with no script, the sum of the commands'
 * usec; with scripts, their usec only (it includes the commands they ran,
 * which commandstats counts a second time, under their own names). Then a
 * command sent directly beside the scripts is not in the sum: `partial`,
 * when the app made more store calls (one round trip each) than scripts
 * ran, or, where its store calls are not known, whenever other commands ran.
 * Scripts run by fewer than 1% of the requests (e.g. a background sweep)
 * count as commands: the sum then counts their inner commands twice, a
 * negligible error, where leaving out the direct commands would not be.
 */
function redisTime(
  delta: CommandCounts,
  storeCalls: number | undefined,
  requests: number,
): { usec: number; partial: boolean } {
  const names = [...delta.keys()];
  const sum = (list: string[], field: 'calls' | 'usec') =>
    list.reduce((total, name) => total + delta.get(name)![field], 0);
  const scripts = names.filter((name) => SCRIPT_COMMANDS.has(name));
  if (scripts.length === 0 || sum(scripts, 'calls') < requests / 100) {
    return { usec: sum(names, 'usec'), partial: false };
  }
  const direct =
    storeCalls === undefined
      ? scripts.length < names.length
      : // 5% slack: the app counts calls as requests arrive, Redis as scripts finish; a
        // command beside each script (auth write: a read, then the write script) is 100%.
        storeCalls > sum(scripts, 'calls') * 1.05;
  return { usec: sum(scripts, 'usec'), partial: direct };
}

/**
 * CPU time (user + system, µs) the target's process has used so far, the
 * requests it received and its store calls by method (the last two
 * undefined where the server does not count them: a baseline's, a store-less one's).
 */
function probe(
  target: Running,
): Promise<{ cpu: number; requests?: number; storeCalls?: Record<string, number> }> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      const { cpu, requests, storeCalls } = message as {
        cpu?: NodeJS.CpuUsage;
        requests?: number;
        storeCalls?: Record<string, number>;
      };
      if (!cpu) return;
      target.child.off('message', onMessage);
      resolve({ cpu: cpu.user + cpu.system, requests, storeCalls });
    };
    target.child.on('message', onMessage);
    target.child.send('cpu');
  });
}

/** Store methods only the expiry sweeper calls, on its timer: no request's work. */
const BACKGROUND_CALLS = new Set(['claimExpired']);

async function measure(target: Running, scenario: Scenario) {
  const options = await load(target, scenario);
  const redisBefore = usesRedis(target.name) ? await redisStats() : undefined;
  const before = await probe(target);
  const result = await autocannon(options);
  const after = await probe(target);
  const bad = result.non2xx + result.errors + result.timeouts;
  if (bad > 0) throw new Error(`${target.name} / ${scenario}: ${bad} failed requests`);
  // Per request the app received where it counts them (requests still in flight
  // when autocannon stops made their store calls too), else per completed request.
  const requests =
    after.requests !== undefined && before.requests !== undefined
      ? after.requests - before.requests
      : result.requests.total;
  const redisAfter = redisBefore && (await redisStats());
  const commands = redisAfter && commandDelta(redisAfter.commands, redisBefore!.commands);
  // The requests' store calls, and apart from them the expiry sweeper's (a timer, not a request's).
  let storeCalls: Record<string, number> | undefined;
  const backgroundCalls: Record<string, number> = {};
  if (after.storeCalls) {
    storeCalls = {};
    for (const [method, calls] of Object.entries(after.storeCalls)) {
      const delta = calls - (before.storeCalls?.[method] ?? 0);
      if (delta > 0) (BACKGROUND_CALLS.has(method) ? backgroundCalls : storeCalls)[method] = delta;
    }
  }
  const total = (counts: Iterable<number>) => [...counts].reduce((sum, n) => sum + n, 0);
  const storeTotal = storeCalls && total(Object.values(storeCalls));
  const time = commands && redisTime(commands, storeTotal, requests);
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    cpuPerRequest: (after.cpu - before.cpu) / requests,
    requests,
    commands,
    commandsPerRequest: commands
      ? total([...commands.values()].map((c) => c.calls)) / requests
      : NaN,
    redisUsecPerRequest: time ? time.usec / requests : NaN,
    redisTimePartial: time?.partial ?? false,
    redisCpuPerRequest: redisAfter ? (redisAfter.cpu - redisBefore!.cpu) / requests : NaN,
    storeCalls,
    backgroundCalls,
    storeCallsPerRequest: storeTotal !== undefined ? storeTotal / requests : NaN,
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

/** Bytes and generation of the refresh families under `benchtok:` (token targets on Redis). */
async function familySizes(): Promise<{ generation: number; bytes: number }[]> {
  const scan = await rawCommand(redis!.port, 'SCAN 0 MATCH benchtok:* COUNT 1000');
  const keys = scan
    .split('\r\n')
    .filter((line) => line.startsWith('benchtok:') && !line.startsWith('benchtok:user:'));
  const sizes: { generation: number; bytes: number }[] = [];
  for (const key of keys) {
    const generation = Number(
      /^\$\d+\r\n(\d+)/.exec(await rawCommand(redis!.port, `HGET ${key} tn`))?.[1],
    );
    const bytes = Number(/^:(\d+)/.exec(await rawCommand(redis!.port, `MEMORY USAGE ${key}`))?.[1]);
    if (generation > 0 && bytes > 0) sizes.push({ generation, bytes });
  }
  return sizes.sort((a, b) => a.generation - b.generation);
}

const perRequest = (value: number) => (Number.isNaN(value) ? '-' : value.toFixed(2));

/** The table, one row per platform, scenario and target. */
const rows: string[][] = [];
/** Per platform, scenario and target, over all rounds: store calls by method, Redis commands by name. */
const details: string[] = [];
/** What the Done-when checks at the end read. */
interface Outcome {
  platform: Platform;
  scenario: Scenario;
  target: string;
  /** Median of the per-round ratios to the floor of the same platform (NaN without a floor). */
  xFloor: number;
  /** Median of the per-round ratios floor CPU µs/req ÷ the target's (NaN without a floor). */
  cpuXFloor: number;
  /** Store calls by method, per request, over all rounds. */
  storePerRequest: Record<string, number>;
  counted: boolean;
}
const outcomes: Outcome[] = [];
let running: Running[] = [];

/** Starts every target on `platform`, measures every scenario, stops them again. */
async function benchPlatform(platform: Platform): Promise<void> {
  for (const name of targets) {
    for (const config of configsOf(name)) {
      const target = await start(name, config, platform);
      if (target) running.push(target);
    }
  }
  console.log(
    `bench: ${platform}, ${connections} connections, ${duration} s x ${rounds} alternating rounds, targets ${targets.join(', ')}` +
      (pinning
        ? `; apps pinned to CPU ${appCpu}, load generator and Redis to the others`
        : '; unpinned'),
  );
  for (const scenario of SCENARIOS) {
    const participants = running.filter((target) => serves(target, scenario));
    const samples = new Map<
      string,
      {
        rps: number[];
        p99: number[];
        cpu: number[];
        cpr: number[];
        rus: number[];
        rcpu: number[];
        scr: number[];
        partial: boolean;
        requests: number;
        store: Record<string, number>;
        background: Record<string, number>;
        commands: CommandCounts;
      }
    >();
    for (const target of participants) {
      samples.set(target.name, {
        ...{ rps: [], p99: [], cpu: [], cpr: [], rus: [], rcpu: [], scr: [] },
        ...{ partial: false, requests: 0, store: {}, background: {}, commands: new Map() },
      });
    }
    if (scenario === 'bearer cold') {
      for (const target of participants) target.coldTokens ??= await tokenBatch(target);
    }
    // Warm each target up, then alternate so drift (thermal, GC) hits all alike.
    for (const target of participants) await autocannon(await load(target, scenario, warmup));
    for (let round = 0; round < rounds; round++) {
      for (const target of participants) {
        const m = await measure(target, scenario);
        const s = samples.get(target.name)!;
        s.rps.push(m.rps);
        s.p99.push(m.p99);
        s.cpu.push(m.cpuPerRequest);
        s.cpr.push(m.commandsPerRequest);
        s.rus.push(m.redisUsecPerRequest);
        s.rcpu.push(m.redisCpuPerRequest);
        s.scr.push(m.storeCallsPerRequest);
        s.partial ||= m.redisTimePartial;
        s.requests += m.requests;
        for (const [method, calls] of Object.entries(m.storeCalls ?? {})) {
          s.store[method] = (s.store[method] ?? 0) + calls;
        }
        for (const [method, calls] of Object.entries(m.backgroundCalls)) {
          s.background[method] = (s.background[method] ?? 0) + calls;
        }
        for (const [name, { calls, usec }] of m.commands ?? []) {
          const sum = s.commands.get(name) ?? { calls: 0, usec: 0 };
          s.commands.set(name, { calls: sum.calls + calls, usec: sum.usec + usec });
        }
      }
    }
    const floor = samples.get('floor')?.rps;
    const floorCpu = samples.get('floor')?.cpu;
    const peer = samples.get('peer')?.rps;
    for (const target of participants) {
      const s = samples.get(target.name)!;
      const redisTarget = usesRedis(target.name);
      rows.push([
        scenario,
        platform,
        target.name,
        median(s.rps).toFixed(0),
        median(s.p99).toFixed(1),
        ratio(s.rps, floor),
        ratio(s.rps, peer),
        median(s.cpu).toFixed(0),
        // The floor's CPU per request over the target's, per round: the req/s ratio the app's core allows.
        floorCpu ? ratio(floorCpu, s.cpu) : '-',
        redisTarget ? median(s.cpr).toFixed(2) : '-',
        redisTarget ? (s.partial ? '≥' : '') + median(s.rus).toFixed(1) : '-',
        redisTarget ? median(s.rcpu).toFixed(1) : '-',
        perRequest(median(s.scr)),
      ]);
      outcomes.push({
        platform,
        scenario,
        target: target.name,
        xFloor: floor ? median(s.rps.map((v, i) => v / floor[i])) : NaN,
        cpuXFloor: floorCpu ? median(floorCpu.map((v, i) => v / s.cpu[i])) : NaN,
        storePerRequest: Object.fromEntries(
          Object.entries(s.store).map(([method, calls]) => [method, calls / s.requests]),
        ),
        counted: !Number.isNaN(median(s.scr)),
      });
      const parts: string[] = [];
      const store = Object.entries(s.store);
      if (store.length > 0 || !Number.isNaN(median(s.scr))) {
        parts.push(
          'store: ' +
            (store
              .map(([method, calls]) => `${method} ${perRequest(calls / s.requests)}`)
              .join(', ') || 'none'),
        );
      }
      const background = Object.entries(s.background);
      if (background.length > 0) {
        parts.push(
          'expiry sweeper meanwhile: ' +
            background.map(([method, calls]) => `${method} ${calls} calls`).join(', '),
        );
      }
      if (redisTarget) {
        parts.push(
          'redis: ' +
            ([...s.commands]
              .map(
                ([name, { calls, usec }]) =>
                  `${name} ${perRequest(calls / s.requests)} (${(usec / s.requests).toFixed(1)} µs)`,
              )
              .join(', ') || 'none'),
        );
      }
      if (scenario === 'refresh' && kindOf(target.name) !== 'floor') {
        parts.push(
          `chains: ${(s.requests / (rounds * connections || 1)).toFixed(0)} refreshes each`,
        );
      }
      if (parts.length > 0) {
        details.push(`  ${scenario} / ${platform} / ${target.name}: ${parts.join('; ')}`);
      }
    }
  }
  await stopAll();
}

/** Stops the running targets and waits until they are gone (the next platform gets their core). */
async function stopAll(): Promise<void> {
  const stopping = running.map(
    (target) =>
      new Promise<void>((resolve) => {
        if (target.child.exitCode !== null || target.child.signalCode !== null) return resolve();
        target.child.once('exit', () => resolve());
        target.child.kill();
      }),
  );
  running = [];
  await Promise.all(stopping);
}

/**
 * Issue 10's Done-when, against what this run measured: bearer 'none' at
 * ≥ 90% of the floor's req/s on Express and ≥ 80% on Fastify; 'strict' with
 * exactly one store call (peek) per request and 'none' with none.
 */
function checks(): string[] {
  const lines: string[] = [];
  const minimum: Record<Platform, number> = { express: 0.9, fastify: 0.8 };
  const calls = (o: Outcome) =>
    Object.entries(o.storePerRequest)
      .map(([method, n]) => `${method} ${n.toFixed(2)}`)
      .join(', ') || 'none';
  const verdict = (met: boolean) => (met ? 'met' : 'NOT met');
  for (const o of outcomes) {
    const kind = kindOf(o.target);
    if (kind !== 'memory' && kind !== 'redis') continue;
    const where = `${o.scenario} / ${o.platform} / ${o.target}`;
    if (o.scenario === 'bearer none') {
      if (!Number.isNaN(o.xFloor)) {
        const min = minimum[o.platform];
        lines.push(
          `  ${where}: ${o.xFloor.toFixed(2)} x floor req/s (target ≥ ${min.toFixed(2)}): ${verdict(o.xFloor >= min)}` +
            `; by app CPU per request ${o.cpuXFloor.toFixed(2)} x floor: ${verdict(o.cpuXFloor >= min)}`,
        );
      }
      if (o.counted) {
        const none = Object.keys(o.storePerRequest).length === 0;
        lines.push(`  ${where}: store calls/req ${calls(o)} (target none): ${verdict(none)}`);
      }
    }
    if (o.scenario === 'bearer strict' && o.counted) {
      const methods = Object.keys(o.storePerRequest);
      // The app counts requests as they arrive: one peek each, exactly (±0.5% for the last in flight).
      const one =
        methods.length === 1 &&
        methods[0] === 'peek' &&
        Math.abs(o.storePerRequest.peek - 1) <= 0.005;
      lines.push(`  ${where}: store calls/req ${calls(o)} (target peek 1.00): ${verdict(one)}`);
    }
  }
  return lines;
}

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
  for (const platform of platforms) await benchPlatform(platform);
  const header = [
    'scenario',
    'platform',
    'target',
    'req/s',
    'p99 ms',
    'x floor',
    'x peer',
    'app cpu µs/req',
    'cpu x floor',
    'redis cmds/req',
    'redis µs/req',
    'redis cpu µs/req',
    'store calls/req',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  if (details.length > 0) {
    console.log(
      "per request, all rounds (redis µs: commandstats usec, a script's including the commands it ran; " +
        '≥ above: scripts only, commands sent beside them not added):',
    );
    for (const detail of details) console.log(detail);
  }
  if (redis) {
    // After the login scenario both stores hold many sessions of the same shape.
    for (const [name, prefix] of [
      ['redis', 'bench:'],
      ['peer', 'peer:'],
    ] as const) {
      // (The token scenarios alone leave no cookie session to measure.)
      if (targets.includes(name) && SCENARIOS.some((scenario) => !isTokenScenario(scenario))) {
        console.log(`redis memory per session (${name}): ${await bytesPerSession(prefix)} bytes`);
      }
    }
    if (targets.includes('redis') && SCENARIOS.some(isTokenScenario)) {
      // One t:<digest> mark per refresh: a family grows with every rotation.
      const sizes = await familySizes();
      if (sizes.length > 0) {
        const [first, last] = [sizes[0], sizes[sizes.length - 1]];
        console.log(
          `redis memory per refresh family (redis): ${first.bytes} bytes at generation ${first.generation}` +
            (sizes.length > 1 ? `, ${last.bytes} bytes at generation ${last.generation}` : ''),
        );
      }
    }
  }
  const verdicts = checks();
  if (verdicts.length > 0) {
    console.log('issue 10 targets:');
    for (const verdict of verdicts) console.log(verdict);
  }
} finally {
  await stopAll();
  await redis?.stop();
}
