/**
 * `npm run bench`: requests/s and p99 latency of the four session scenarios,
 * side by side with the same app without sessions (the floor), in one run.
 * Targets are started in their own processes and measured in alternating
 * rounds; the table shows medians and the ratio to the floor.
 *
 * Env: BENCH_DURATION (s per measurement, default 5), BENCH_ROUNDS (default 3),
 * BENCH_CONNECTIONS (default 50), PLATFORM (express | fastify), BENCH_TARGETS
 * (comma list, default "floor,memory"), BENCH_SCENARIOS (comma list, default all).
 */
import autocannon from 'autocannon';
import { fork, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

type Scenario = 'anonymous' | 'auth read' | 'auth write' | 'login';
const ALL_SCENARIOS: Scenario[] = ['anonymous', 'auth read', 'auth write', 'login'];
const SCENARIOS = process.env.BENCH_SCENARIOS
  ? ALL_SCENARIOS.filter((s) => process.env.BENCH_SCENARIOS!.split(',').includes(s))
  : ALL_SCENARIOS;

const duration = Number(process.env.BENCH_DURATION ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const platform = process.env.PLATFORM ?? 'express';
const targets = (process.env.BENCH_TARGETS ?? 'floor,memory').split(',').map((t) => t.trim());

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
  const child = fork(fileURLToPath(new URL('./server.ts', import.meta.url)), {
    env: { ...process.env, BENCH_TARGET: name, PLATFORM: platform, PORT: String(port) },
    execArgv: ['--import', '@swc-node/register/esm-register'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`bench target ${name} exited with ${code}`)));
  });
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
      return { ...base, url: `${target.url}/write`, method: 'POST', headers: { cookie: target.cookie } };
    case 'login':
      return { ...base, url: `${target.url}/login`, method: 'POST' };
  }
}

async function measure(target: Running, scenario: Scenario) {
  const result = await autocannon(request(target, scenario));
  const bad = result.non2xx + result.errors + result.timeouts;
  if (bad > 0) throw new Error(`${target.name} / ${scenario}: ${bad} failed requests`);
  return { rps: result.requests.average, p99: result.latency.p99 };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const running: Running[] = [];
try {
  for (const name of targets) running.push(await start(name));
  console.log(
    `bench: ${platform}, ${connections} connections, ${duration} s x ${rounds} alternating rounds, targets ${targets.join(', ')}`,
  );
  const rows: string[][] = [];
  for (const scenario of SCENARIOS) {
    const samples = new Map<string, { rps: number[]; p99: number[] }>();
    for (const target of running) samples.set(target.name, { rps: [], p99: [] });
    // Warm each target up, then alternate so drift (thermal, GC) hits all alike.
    for (const target of running) await autocannon({ ...request(target, scenario), duration: 1 });
    for (let round = 0; round < rounds; round++) {
      for (const target of running) {
        const { rps, p99 } = await measure(target, scenario);
        samples.get(target.name)!.rps.push(rps);
        samples.get(target.name)!.p99.push(p99);
      }
    }
    const floor = median(samples.get('floor')?.rps ?? [NaN]);
    for (const target of running) {
      const s = samples.get(target.name)!;
      const rps = median(s.rps);
      rows.push([
        scenario,
        target.name,
        rps.toFixed(0),
        median(s.p99).toFixed(1),
        (rps / floor).toFixed(2),
      ]);
    }
  }
  const header = ['scenario', 'target', 'req/s', 'p99 ms', 'x floor'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  console.log(line(header));
  for (const row of rows) console.log(line(row));
} finally {
  for (const target of running) target.child.kill();
}
