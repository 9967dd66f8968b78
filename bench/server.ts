/**
 * One benchmark server per process, so the load generator never shares an
 * event loop with the app. BENCH_TARGET picks what runs:
 * - `floor`: the same routes without sessions;
 * - `memory`: SessionModule + MemoryStore;
 * - `redis`: SessionModule + RedisStore (ioredis) on BENCH_REDIS_URL;
 * - `peer`: express-session + connect-redis (node-redis) on BENCH_REDIS_URL.
 */
import { MemoryStore, RedisStore } from '../lib/index.js';
import { startBenchApp } from './bench-app.js';
import { startPeerApp } from './peer-app.js';

const target = process.env.BENCH_TARGET ?? 'floor';
const platform = (process.env.PLATFORM ?? 'express') as 'express' | 'fastify';
const port = Number(process.env.PORT);
const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

switch (target) {
  case 'floor':
    await startBenchApp({ platform, port });
    break;
  case 'memory':
    await startBenchApp({ platform, port, store: new MemoryStore({ maxSessions: 1_000_000 }) });
    break;
  case 'redis':
    await startBenchApp({
      platform,
      port,
      store: new RedisStore({ url: redisUrl, prefix: 'bench:' }),
    });
    break;
  case 'peer':
    // express-session is Express middleware: the peer always runs on Express.
    await startPeerApp({ port, redisUrl });
    break;
  default:
    throw new Error(`unknown BENCH_TARGET ${target}`);
}
// The runner asks for this process's CPU time around each measurement.
process.on('message', (message) => {
  if (message === 'cpu') process.send?.({ cpu: process.cpuUsage() });
});
process.send?.('ready');
process.on('SIGINT', () => process.exit(0));
