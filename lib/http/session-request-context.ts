import { HttpException } from '@nestjs/common';
import type { EventOrigin } from '../events/event-origin.js';
import { asGraphQLError } from '../graphql/graphql-error-extensions.js';
import { isEmptyPlan, type CommitPlan } from '../session/commit-plan.js';
import { CommitRefusal } from '../session/commit-refusal.js';
import type { RequestSession, SessionRequestHooks } from '../session/request-session.js';
import type { SessionEngine } from '../session/session.engine.js';
import {
  SessionStoreUnavailableException,
  STORE_RETRY_AFTER_SECONDS,
  TooManyInvalidSessionsException,
} from '../session.exceptions.js';
import { SessionStoreUnavailableError } from '../stores/store-outage.js';
import { clientIp } from './client-ip.js';
import type { HttpBinding } from './http-binding.js';
import type { PlatformRequest } from './platform-request.js';

/**
 * One request's link to its session: loads it at most once, on first use,
 * and commits it when the platform is about to send the response. It is the
 * session's {@link SessionRequestHooks}: a change to the session gates the
 * response (Express), `destroy()` and `save()` run here.
 */
export class SessionRequestContext implements SessionRequestHooks, EventOrigin {
  private loading?: Promise<RequestSession>;
  /** The loaded session, once loading has finished. */
  private loaded?: RequestSession;
  private rotateOnSuccess = false;
  private gated = false;
  private address?: string;
  /** A GraphQL operation reached this session: its errors carry GraphQL `extensions`. */
  private inGraphQL = false;

  constructor(
    private readonly engine: SessionEngine,
    private readonly binding: HttpBinding,
    private readonly request: PlatformRequest,
    private readonly response: unknown,
  ) {}

  /**
   * The request's session, loaded once. A store outage becomes a 503 with
   * Retry-After: the request fails closed rather than passing anonymously.
   */
  async session(): Promise<RequestSession> {
    return this.sessionOrPromise();
  }

  /** Like `session()`, but synchronous when no store call is needed (no valid cookie). */
  sessionOrPromise(): RequestSession | Promise<RequestSession> {
    if (this.loaded) return this.loaded;
    if (!this.loading) {
      const headers = this.request.headers;
      const result = this.engine.loader.load({
        cookieHeader: headers.cookie,
        userAgent: headers['user-agent'],
        clientAddress: () => this.clientAddress(),
        hooks: this,
      });
      if (!(result instanceof Promise)) return this.settle(result);
      this.loading = result.then(
        (session) => this.settle(session),
        (error: unknown) => {
          // Degraded service by choice: go on without a session rather than answer 503.
          if (
            error instanceof SessionStoreUnavailableError &&
            this.engine.options.storeOutage === 'anonymous'
          ) {
            return this.settle(this.engine.loader.degraded(this));
          }
          throw error;
        },
      );
    }
    return this.loading.catch((error: unknown) => {
      throw this.translate(error);
    });
  }

  /** The session loaded for this request, if it was loaded already (never starts a load). */
  get loadedSession(): RequestSession | undefined {
    return this.loaded;
  }

  /** This request, as the origin of the events it causes. */
  get origin(): EventOrigin {
    return this;
  }

  /** The client's address (the guessing defence's and the events'), computed once. */
  clientAddress(): string {
    return (this.address ??= clientIp(
      this.request,
      this.engine.options.bruteForce?.trustProxy ?? 0,
    ));
  }

  get userAgent(): unknown {
    return this.request.headers['user-agent'];
  }

  private settle(session: RequestSession): RequestSession {
    this.loaded = session;
    // A touch due, a cookie to clear or re-sign: the response must wait for a commit.
    if (!isEmptyPlan(this.plan(session, 200))) this.sessionChanged();
    return session;
  }

  /** `@RotateSession()`: rotate the ID at commit if the response is a success. */
  rotateIfSuccessful(): void {
    this.rotateOnSuccess = true;
    this.sessionChanged();
  }

  sessionChanged(): void {
    if (this.gated) return;
    this.gated = true;
    this.binding.gate(this, this.response);
  }

  /**
   * True when the response can go out without a commit: the session was
   * never loaded, or its plan is empty. Synchronous on purpose.
   */
  canSkipCommit(statusCode: number): boolean {
    const session = this.loaded;
    if (!session) return !this.loading; // never asked for, or still loading / failed
    return isEmptyPlan(this.plan(session, statusCode));
  }

  /** Called by the platform binding right before the response is sent. */
  async commit(statusCode: number): Promise<string[]> {
    let session = this.loaded;
    if (!session) {
      if (!this.loading) return [];
      try {
        session = await this.loading;
      } catch {
        return []; // never loaded: nothing to write (the route already answered 503)
      }
    }
    return this.engine.committer.commit(session, this.plan(session, statusCode));
  }

  async destroyNow(session: RequestSession): Promise<void> {
    this.sessionChanged();
    try {
      await this.engine.committer.destroy(session);
    } catch (error) {
      throw this.translate(error);
    }
  }

  async saveNow(session: RequestSession): Promise<void> {
    let cookies: string[];
    try {
      // An explicit save() commits what the app did so far; @RotateSession waits for the status.
      const plan = this.engine.committer.plan(session, { rotateOnSuccess: false, status: 200 });
      cookies = await this.engine.committer.commit(session, plan);
    } catch (error) {
      throw this.translate(error);
    }
    if (cookies.length > 0 && !this.binding.headersSent(this.response)) {
      this.binding.addCookies(this.response, cookies);
    }
  }

  /**
   * The 429 for a client past the guessing defence's limit (its cookie is
   * cleared by the commit, like any cookie that names no session).
   */
  tooManyInvalidSessions(retryAfterSeconds: number): TooManyInvalidSessionsException {
    if (!this.binding.headersSent(this.response)) {
      this.binding.setHeader(this.response, 'Retry-After', String(retryAfterSeconds));
    }
    return new TooManyInvalidSessionsException();
  }

  private plan(session: RequestSession, status: number): CommitPlan {
    return this.engine.committer.plan(session, { rotateOnSuccess: this.rotateOnSuccess, status });
  }

  /**
   * A GraphQL operation uses this request's session (`@Session()` in a
   * resolver): the errors of its session calls (`destroy()` or `save()` in a
   * store outage) become GraphQL errors with `extensions.code` and `reason`,
   * as the load's and the guards' do.
   */
  answersGraphQL(): this {
    this.inGraphQL = true;
    return this;
  }

  private translate(error: unknown): unknown {
    const translated = this.translateForHttp(error);
    return this.inGraphQL ? asGraphQLError(translated) : translated;
  }

  private translateForHttp(error: unknown): unknown {
    if (error instanceof CommitRefusal) {
      if (error.cookies.length > 0 && !this.binding.headersSent(this.response)) {
        this.binding.addCookies(this.response, error.cookies);
      }
      return new HttpException(error.body, error.status);
    }
    if (!(error instanceof SessionStoreUnavailableError)) return error;
    if (!this.binding.headersSent(this.response)) {
      this.binding.setHeader(this.response, 'Retry-After', String(STORE_RETRY_AFTER_SECONDS));
    }
    return new SessionStoreUnavailableException();
  }
}
