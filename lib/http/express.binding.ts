import { Logger } from '@nestjs/common';
import { commitFailureResponse, type CommitFailureResponse } from './commit-failure.js';
import type { HttpBinding, PendingCommit, RequestAccessor } from './http-binding.js';

type Method = (...args: unknown[]) => unknown;

/** The parts of an Express response this binding uses (Node's ServerResponse, plus `append`). */
interface ExpressResponse {
  statusCode: number;
  headersSent: boolean;
  setHeader(name: string, value: unknown): unknown;
  appendHeader(name: string, value: unknown): unknown;
  removeHeader(name: string): void;
  append(name: string, value: string | string[]): unknown;
}

/** The Express app: `response` is the prototype of every response it creates. */
interface ExpressApp {
  request: object;
  response: { write: Method; end: Method; writeHead: Method };
  /** The app's router; its stack lists the middleware mounted so far (`app.use()`). */
  router: { stack?: Array<{ name?: string }> };
}

/** What Node refuses in a status message (its checkInvalidHeaderChar). */
const INVALID_STATUS_MESSAGE = /[^\t\x20-\x7e\x80-\xff]/;

/**
 * Holds one response's `writeHead()`/`write()`/`end()` calls until its
 * session is committed, then replays them in order.
 */
class ResponseGate {
  private queue?: Promise<void>;
  private failure?: CommitFailureResponse;
  /**
   * True while a held call runs: Node's own inner calls (a first `write()`
   * sends the head through `this.writeHead()`) must go straight through.
   */
  private replaying = false;

  constructor(
    private readonly binding: ExpressBinding,
    private readonly context: PendingCommit,
    private readonly res: ExpressResponse,
    private readonly release: () => void,
  ) {}

  /** Nothing to commit (the common case): the call goes straight through, no promise. */
  canPass(statusCode = this.res.statusCode): boolean {
    if (this.replaying) return true;
    if (this.queue || !this.context.canSkipCommit(statusCode)) return false;
    this.release();
    return true;
  }

  /**
   * `writeHead()` fixes status and headers at once, so it is held like a
   * write: its status and headers are applied now, through the progressive
   * API as Node itself does once any header is set (a bad header throws to
   * the caller, and the commit sees the real status, e.g. for
   * `@RotateSession()`), and only the sending of the head waits. The commit's
   * Set-Cookie and Cache-Control then land on top of the handler's, as they
   * do for `write()`/`end()`. Until then `res.headersSent` stays false.
   *
   * @returns false when the call should go straight to Node: nothing to
   * commit, or arguments Node refuses (it throws them, before sending anything).
   */
  holdHead(original: Method, args: unknown[]): boolean {
    const [code, reason, headers] = args;
    const statusCode = Number(code) | 0;
    const message = typeof reason === 'string' ? reason : undefined;
    if (statusCode < 100 || statusCode > 999) return false;
    if (message !== undefined && INVALID_STATUS_MESSAGE.test(message)) return false;
    if (this.canPass(statusCode)) return false;
    applyHeadHeaders(this.res, message === undefined ? reason : headers);
    this.res.statusCode = statusCode;
    const head = message === undefined ? [statusCode] : [statusCode, message];
    this.enqueue(() => {
      // A failed commit sends its own head (sendFailure): the app's must not go out first.
      if (!this.failure) original.apply(this.res, head);
    });
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
    this.queue = this.queue
      .then(() => this.replay(call))
      .catch((error: unknown) => {
        this.binding.logger.error(
          'Writing the response after the session commit failed',
          error as Error,
        );
      });
  }

  private replay(call: () => void): void {
    this.replaying = true;
    try {
      call();
    } finally {
      this.replaying = false;
    }
  }
}

/**
 * Applies `writeHead()`'s headers argument (an object, or a flat
 * `[name, value, ...]` array) as Node does when headers were set before:
 * each name replaces the value set earlier. In an array a repeated name
 * keeps all its values (e.g. two Set-Cookie), which is what writing it
 * twice means.
 */
function applyHeadHeaders(res: ExpressResponse, headers: unknown): void {
  if (Array.isArray(headers)) {
    if (headers.length % 2 !== 0) {
      throw Object.assign(new TypeError("The argument 'headers' is invalid."), {
        code: 'ERR_INVALID_ARG_VALUE',
      });
    }
    for (let i = 0; i < headers.length; i += 2) {
      if (headers[i]) res.removeHeader(headers[i] as string);
    }
    for (let i = 0; i < headers.length; i += 2) {
      if (headers[i]) res.appendHeader(headers[i] as string, headers[i + 1]);
    }
  } else if (headers && typeof headers === 'object') {
    for (const name of Object.keys(headers)) {
      if (name) res.setHeader(name, (headers as Record<string, unknown>)[name]);
    }
  }
}

/**
 * Express has no asynchronous "before send" hook, so the response of a
 * request whose session changed is gated: its first `writeHead()`,
 * `write()` or `end()` (from a return value, a redirect, an exception filter
 * or an `@Res()` handler alike) waits for the commit, which adds its
 * Set-Cookie while the headers are still open, then the held calls run in
 * order: the session is saved before any byte of the response goes out.
 *
 * `writeHead`/`write`/`end` are wrapped once on the app's response
 * prototype, with gates kept in a WeakMap: patching each response object
 * instead would change its shape and slow down every request, not just the
 * gated ones. An ungated response pays one WeakMap miss per call.
 */
export class ExpressBinding implements HttpBinding {
  readonly logger = new Logger('SessionModule');
  private readonly gates = new WeakMap<object, ResponseGate>();

  install(instance: unknown): void {
    const proto = (instance as ExpressApp).response;
    const originalWriteHead = proto.writeHead;
    const originalWrite = proto.write;
    const originalEnd = proto.end;
    const gates = this.gates;
    proto.writeHead = function (this: object, ...args: unknown[]) {
      const gate = gates.get(this);
      if (!gate || !gate.holdHead(originalWriteHead, args)) {
        return originalWriteHead.apply(this, args);
      }
      return this;
    };
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

  defineRequestAccessor(instance: unknown, name: string, accessor: RequestAccessor): boolean {
    const app = instance as ExpressApp;
    const proto = app.request;
    // Another middleware's property is left alone: one on the app's request
    // prototype, or one a middleware mounted before (app.use() in main.ts)
    // sets on each request under its own name, as express-session does; it
    // reads `req.session` first to see whether it ran already.
    if (Object.hasOwn(proto, name)) return false;
    if (app.router.stack?.some((layer) => layer.name === name)) return false;
    Object.defineProperty(proto, name, {
      get: accessor.get,
      set: accessor.set,
      configurable: true,
    });
    return true;
  }

  gate(context: PendingCommit, response: unknown): void {
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
