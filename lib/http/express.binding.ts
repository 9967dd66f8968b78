import { Logger } from '@nestjs/common';
import { commitFailureResponse, type CommitFailureResponse } from './commit-failure.js';
import type { HttpBinding } from './http-binding.js';
import type { SessionRequestContext } from './session-request-context.js';

type Method = (...args: unknown[]) => unknown;

/** The parts of an Express response this binding uses. */
interface ExpressResponse {
  statusCode: number;
  headersSent: boolean;
  setHeader(name: string, value: string | string[]): unknown;
  removeHeader(name: string): void;
  append(name: string, value: string | string[]): unknown;
}

/** The Express app: `response` is the prototype of every response it creates. */
interface ExpressApp {
  request: object;
  response: { write: Method; end: Method };
}

/**
 * Holds one response's `write()`/`end()` calls until its session is
 * committed, then replays them in order.
 */
class ResponseGate {
  private queue?: Promise<void>;
  private failure?: CommitFailureResponse;

  constructor(
    private readonly binding: ExpressBinding,
    private readonly context: SessionRequestContext,
    private readonly res: ExpressResponse,
    private readonly release: () => void,
  ) {}

  /** Nothing to commit (the common case): the call goes straight through, no promise. */
  canPass(): boolean {
    if (this.queue || !this.context.canSkipCommit(this.res.statusCode)) return false;
    this.release();
    return true;
  }

  write(original: Method, args: unknown[]): void {
    this.enqueue(() => {
      if (!this.failure) original.apply(this.res, args);
    });
  }

  end(original: Method, args: unknown[]): void {
    this.enqueue(() => {
      this.release();
      if (this.failure) this.binding.sendFailure(this.res, this.failure, original);
      else original.apply(this.res, args);
    });
  }

  private enqueue(call: () => void): void {
    this.queue ??= this.context.commit(this.res.statusCode).then(
      (cookies) => {
        if (cookies.length > 0 && !this.res.headersSent) this.binding.addCookies(this.res, cookies);
      },
      (error: unknown) => {
        this.failure = commitFailureResponse(error);
        if (this.failure.status === 500)
          this.binding.logger.error('Session commit failed', error as Error);
      },
    );
    this.queue = this.queue.then(call).catch((error: unknown) => {
      this.binding.logger.error(
        'Writing the response after the session commit failed',
        error as Error,
      );
    });
  }
}

/**
 * Express has no asynchronous "before send" hook, so the response of a
 * request whose session changed is gated: its first `write()`/`end()` (from
 * a return value, a redirect, an exception filter or an `@Res()` handler
 * alike) waits for the commit, which adds its Set-Cookie while the headers
 * are still open, then the held calls run in order (DESIGN rule 7).
 *
 * `write`/`end` are wrapped once on the app's response prototype, with gates
 * kept in a WeakMap: patching each response object instead would change its
 * shape and slow down every request, not just the gated ones.
 */
export class ExpressBinding implements HttpBinding {
  readonly logger = new Logger('SessionModule');
  private readonly gates = new WeakMap<object, ResponseGate>();

  install(instance: unknown): void {
    const proto = (instance as ExpressApp).response;
    const originalWrite = proto.write;
    const originalEnd = proto.end;
    const gates = this.gates;
    proto.write = function (this: object, ...args: unknown[]) {
      const gate = gates.get(this);
      if (!gate || gate.canPass()) return originalWrite.apply(this, args);
      gate.write(originalWrite, args);
      return true;
    };
    proto.end = function (this: object, ...args: unknown[]) {
      const gate = gates.get(this);
      if (!gate || gate.canPass()) return originalEnd.apply(this, args);
      gate.end(originalEnd, args);
      return this;
    };
  }

  decorateRequests(instance: unknown, key: symbol, value: unknown): void {
    // `app.request` is the prototype Express gives every request of this app.
    Object.defineProperty((instance as ExpressApp).request, key, { value });
  }

  gate(context: SessionRequestContext, response: unknown): void {
    const gates = this.gates;
    const res = response as ExpressResponse & object;
    gates.set(res, new ResponseGate(this, context, res, () => gates.delete(res)));
  }

  setHeader(response: unknown, name: string, value: string): void {
    (response as ExpressResponse).setHeader(name, value);
  }

  addCookies(response: unknown, cookies: string[]): void {
    const res = response as ExpressResponse;
    res.append('Set-Cookie', cookies);
    // A response that sets or clears the session cookie must never be cached.
    res.setHeader('Cache-Control', 'no-store');
  }

  headersSent(response: unknown): boolean {
    return (response as ExpressResponse).headersSent;
  }

  /** Replaces the app's response by the commit failure's (503 for a store outage). */
  sendFailure(res: ExpressResponse, failure: CommitFailureResponse, end: Method): void {
    if (!res.headersSent) {
      res.statusCode = failure.status;
      for (const name of ['content-length', 'etag', 'set-cookie', 'location']) {
        res.removeHeader(name);
      }
      for (const [name, value] of Object.entries(failure.headers)) res.setHeader(name, value);
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.setHeader('cache-control', 'no-store');
    }
    end.call(res, failure.body);
  }
}
