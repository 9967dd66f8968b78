import { Logger } from '@nestjs/common';
import { commitFailureResponse } from './commit-failure.js';
import type { HttpBinding } from './http-binding.js';
import type { SessionRequestContext } from './session-request-context.js';

/** The parts of an Express response this binding uses. */
interface ExpressResponse {
  statusCode: number;
  headersSent: boolean;
  write: (...args: unknown[]) => boolean;
  end: (...args: unknown[]) => unknown;
  setHeader(name: string, value: string | string[]): unknown;
  getHeader(name: string): unknown;
  removeHeader(name: string): void;
  append(name: string, value: string | string[]): unknown;
}

/**
 * Express has no asynchronous "before send" hook, so the response of a
 * request that touched its session is gated: the first `write()`/`end()`
 * (from a return value, a redirect, an exception filter or an `@Res()`
 * handler alike) waits for the commit, which adds its Set-Cookie while the
 * headers are still open, then the held calls run in order (DESIGN rule 7).
 * Requests that never touch their session are not gated at all.
 */
export class ExpressBinding implements HttpBinding {
  private readonly logger = new Logger('SessionModule');

  install(): void {
    // Nothing global: the gate is per request.
  }

  gate(context: SessionRequestContext, response: unknown): void {
    const res = response as ExpressResponse;
    const originalWrite = res.write;
    const originalEnd = res.end;
    let queue: Promise<void> | undefined;
    let failure: ReturnType<typeof commitFailureResponse> | undefined;

    const restore = () => {
      res.write = originalWrite;
      res.end = originalEnd;
    };
    const enqueue = (call: () => void) => {
      queue ??= context.commit(res.statusCode).then(
        (cookies) => {
          if (cookies.length > 0 && !res.headersSent) this.addCookies(res, cookies);
        },
        (error: unknown) => {
          failure = commitFailureResponse(error);
          if (failure.status === 500) this.logger.error('Session commit failed', error as Error);
        },
      );
      queue = queue.then(call).catch((error: unknown) => {
        this.logger.error('Writing the response after the session commit failed', error as Error);
      });
    };

    // Nothing to write for this request (the common case): send at once, no promise.
    const skip = () => {
      if (queue || !context.canSkipCommit(res.statusCode)) return false;
      restore();
      return true;
    };

    res.write = (...args: unknown[]) => {
      if (skip()) return originalWrite.apply(res, args);
      enqueue(() => {
        if (!failure) originalWrite.apply(res, args);
      });
      return true;
    };
    res.end = (...args: unknown[]) => {
      if (skip()) return originalEnd.apply(res, args);
      enqueue(() => {
        restore();
        if (failure) this.sendFailure(res, failure);
        else originalEnd.apply(res, args);
      });
      return res;
    };
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

  private sendFailure(
    res: ExpressResponse,
    failure: ReturnType<typeof commitFailureResponse>,
  ): void {
    if (!res.headersSent) {
      res.statusCode = failure.status;
      for (const name of ['content-length', 'etag', 'set-cookie', 'location'])
        res.removeHeader(name);
      for (const [name, value] of Object.entries(failure.headers)) res.setHeader(name, value);
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.setHeader('cache-control', 'no-store');
    }
    res.end(failure.body);
  }
}
