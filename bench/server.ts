/**
 * One benchmark server per process, so the load generator never shares a
 * core's event loop with the app. BENCH_TARGET picks what runs:
 * `floor` (no sessions) or `memory` (SessionModule + MemoryStore).
 */
import { MemoryStore } from '../lib/index.js';
import { startBenchApp } from './bench-app.js';

const target = process.env.BENCH_TARGET ?? 'floor';
const platform = (process.env.PLATFORM ?? 'express') as 'express' | 'fastify';
const port = Number(process.env.PORT);

const store = target === 'memory' ? new MemoryStore({ maxSessions: 1_000_000 }) : undefined;
if (target !== 'floor' && !store) throw new Error(`unknown BENCH_TARGET ${target}`);
await startBenchApp({ platform, store, port });
process.send?.('ready');
process.on('SIGINT', () => process.exit(0));
