import { Logger } from '@nestjs/common';
import { commitFailureResponse } from './commit-failure.js';
import type { ContextLookup, HttpBinding, RequestAccessor } from './http-binding.js';
import type { PlatformRequest } from './platform-request.js';

/** The parts of a Fastify reply this binding uses. */
interface FastifyReply {
  statusCode: number;
  sent: boolean;
  raw: {
    headersSent: boolean;
    getHeader(name: string): unknown;
    setHeader(name: string, value: string | string[]): unknown;
    removeHeader(name: string): void;
  };
  code(status: number): FastifyReply;
  header(name: string, value: string): FastifyReply;
  removeHeader(name: string): FastifyReply;
}

type OnSendDone = (error: Error | null, payload?: unknown) => void;

interface FastifyInstance {
  addHook(
    name: 'onSend',
    hook: (
      request: PlatformRequest,
      reply: FastifyReply,
      payload: unknown,
      done: OnSendDone,
    ) => void,
  ): unknown;
  decorateRequest(
    name: symbol | string,
    decoration: { getter: () => unknown; setter?: (value: unknown) => void },
  ): unknown;
  hasRequestDecorator(name: string): boolean;
}

/**
 * Fastify's `onSend` hook runs before every response is written, whoever
 * sends it (a return value, a redirect, an exception filter, an `@Res()`
 * handler), so one hook commits the session before any byte of the
 * response goes out: the client never sees an answer whose session was not
 * saved. Requests that never touched their session pass straight through.
 */
export class FastifyBinding implements HttpBinding {
  private readonly logger = new Logger('SessionModule');

  install(instance: unknown, contextOf: ContextLookup): void {
    (instance as FastifyInstance).addHook('onSend', (request, reply, payload, done) => {
      const context = contextOf(request);
      if (!context || context.canSkipCommit(reply.statusCode)) return done(null, payload);
      context.commit(reply.statusCode).then(
        (cookies) => {
          if (cookies.length > 0) this.addCookies(reply, cookies);
          done(null, payload);
        },
        (error: unknown) => {
          const failure = commitFailureResponse(error);
          if (failure.status === 500) this.logger.error('Session commit failed', error as Error);
          reply.code(failure.status);
          for (const name of ['content-length', 'etag', 'set-cookie', 'location'])
            reply.removeHeader(name);
          reply.raw.removeHeader('set-cookie'); // mirrored there by an earlier save()
          for (const [name, value] of Object.entries(failure.headers)) reply.header(name, value);
          reply.header('content-type', 'application/json; charset=utf-8');
          reply.header('cache-control', 'no-store');
          done(null, failure.body);
        },
      );
    });
  }

  decorateRequests(instance: unknown, key: symbol, value: unknown): void {
    // A getter: Fastify refuses object values here (they would be shared by reference).
    (instance as FastifyInstance).decorateRequest(key, { getter: () => value });
  }

  defineRequestAccessor(instance: unknown, name: string, accessor: RequestAccessor): boolean {
    const fastify = instance as FastifyInstance;
    // A plugin's decorator (@fastify/session, @fastify/secure-session) is left alone.
    if (fastify.hasRequestDecorator(name)) return false;
    fastify.decorateRequest(name, { getter: accessor.get, setter: accessor.set });
    return true;
  }

  gate(): void {
    // Nothing per request: the onSend hook looks the context up.
  }

  setHeader(response: unknown, name: string, value: string): void {
    (response as FastifyReply).header(name, value);
  }

  addCookies(response: unknown, cookies: string[]): void {
    const reply = response as FastifyReply;
    // Fastify appends repeated set-cookie headers instead of replacing them.
    for (const cookie of cookies) reply.header('set-cookie', cookie);
    reply.header('cache-control', 'no-store');
    // Mirrored on the raw response for handlers that stream through `reply.raw`
    // after `session.save()` (no onSend then). When Fastify sends the reply
    // itself, its own headers take precedence, so nothing is sent twice.
    const raw = reply.raw;
    if (!raw.headersSent) {
      const previous = raw.getHeader('set-cookie');
      const list =
        previous === undefined ? [] : Array.isArray(previous) ? previous : [String(previous)];
      raw.setHeader('set-cookie', [...list, ...cookies]);
      raw.setHeader('cache-control', 'no-store');
    }
  }

  headersSent(response: unknown): boolean {
    const reply = response as FastifyReply;
    return reply.sent || reply.raw.headersSent;
  }
}
