/**
 * One benchmark server per process, so the load generator never shares an
 * event loop with the app. BENCH_TARGET picks what runs:
 * - `floor`: the same routes without sessions (cookie and token routes alike);
 * - `memory`: SessionModule + MemoryStore;
 * - `redis`: SessionModule + RedisStore (ioredis) on BENCH_REDIS_URL;
 * - `peer`: express-session + connect-redis (node-redis) on BENCH_REDIS_URL.
 * BENCH_TOKENS (`none` | `strict`) makes `memory` and `redis` token targets
 * instead: `tokens` configured with that revocation, only the token routes,
 * and Redis keys under `benchtok:` (apart from the cookie sessions).
 */
import type { INestApplication } from '@nestjs/common';
import type { Server } from 'node:http';
import { MemoryStore, RedisStore, type SessionStore } from '../lib/index.js';
import { startBenchApp } from './bench-app.js';
import { startPeerApp } from './peer-app.js';

const target = process.env.BENCH_TARGET ?? 'floor';
const platform = (process.env.PLATFORM ?? 'express') as 'express' | 'fastify';
const port = Number(process.env.PORT);
const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const tokens = (process.env.BENCH_TOKENS || undefined) as 'none' | 'strict' | undefined;
if (tokens !== undefined && tokens !== 'none' && tokens !== 'strict') {
  throw new Error(`unknown BENCH_TOKENS ${tokens}`);
}

/**
 * Calls the module made to its store, by method (the runner reads them
 * around each measurement); stays undefined without a counted store.
 */
let storeCalls: Record<string, number> | undefined;

/**
 * The store behind a proxy that counts each method call the module makes
 * (the store's own internal calls go to the real object and are not
 * counted). Not a mock: every call runs on the real store.
 */
function counted<T extends SessionStore>(store: T): T {
  const calls: Record<string, number> = (storeCalls = {});
  const wrappers = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(inner, name) {
      const value: unknown = Reflect.get(inner, name, inner);
      if (typeof value !== 'function' || typeof name !== 'string' || name === 'constructor') {
        return value;
      }
      let wrapper = wrappers.get(name);
      if (!wrapper) {
        const method = value as (...args: unknown[]) => unknown;
        wrapper = (...args: unknown[]) => {
          calls[name] = (calls[name] ?? 0) + 1;
          return method.apply(inner, args);
        };
        wrappers.set(name, wrapper);
      }
      return wrapper;
    },
  });
}

let app: INestApplication;
switch (target) {
  case 'floor':
    app = await startBenchApp({ platform, port });
    break;
  case 'memory':
    app = await startBenchApp({
      platform,
      port,
      tokens,
      store: counted(new MemoryStore({ maxSessions: 1_000_000 })),
    });
    break;
  case 'redis':
    app = await startBenchApp({
      platform,
      port,
      tokens,
      store: counted(new RedisStore({ url: redisUrl, prefix: tokens ? 'benchtok:' : 'bench:' })),
    });
    break;
  case 'peer':
    // express-session is Express middleware: the peer always runs on Express.
    app = await startPeerApp({ port, redisUrl });
    break;
  default:
    throw new Error(`unknown BENCH_TARGET ${target}`);
}
/**
 * Requests this app received (a listener beside the platform's own), so
 * that counts per request include the requests still in flight when the
 * load generator stops, which it does not count as done.
 */
let requests = 0;
(app.getHttpServer() as Server).on('request', () => requests++);
// The runner asks for this process's CPU time (requests and store calls so far) around each measurement.
process.on('message', (message) => {
  if (message === 'cpu') process.send?.({ cpu: process.cpuUsage(), requests, storeCalls });
});
process.send?.('ready');
process.on('SIGINT', () => process.exit(0));
