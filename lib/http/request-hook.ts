import type { AbstractHttpAdapter } from '@nestjs/core';

/** Runs for a request; calls `next()` when the request may go on. */
export type RequestHook = (request: object, response: unknown, next: () => void) => void;

type AdapterHook = (request: object, response: unknown, done: (error?: Error) => void) => unknown;

/**
 * Adds `hook` to Nest's request hook (`httpAdapter.setOnRequestHook()`): on
 * both platforms it runs before every middleware (Express: the adapter's
 * first middleware, so before `app.use()` calls in main.ts; Fastify: an
 * onRequest hook added before @fastify/middie, so before Nest middleware),
 * then guards, interceptors and handlers. Nest keeps one such hook: one set
 * before (by the app) runs first, then this one.
 */
export function addRequestHook(adapter: AbstractHttpAdapter, hook: RequestHook): void {
  const previous = (adapter as { onRequestHook?: AdapterHook }).onRequestHook;
  const ours: AdapterHook = previous
    ? function (this: unknown, request, response, done) {
        return previous.call(this, request, response, (error?: Error) =>
          error ? done(error) : hook(request, response, () => done()),
        );
      }
    : (request, response, done) => hook(request, response, () => done());
  adapter.setOnRequestHook(ours);
}
