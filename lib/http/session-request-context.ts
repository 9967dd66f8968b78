import type { RequestSession, SessionPersistence } from '../session/request-session.js';
import type { SessionEngine } from '../session/session.engine.js';
import { SessionStoreUnavailableException, STORE_RETRY_AFTER_SECONDS } from '../session.exceptions.js';
import { SessionStoreUnavailableError } from '../stores/store-outage.js';
import type { HttpBinding, PlatformRequest } from './http-binding.js';

/**
 * One request's link to its session: loads it at most once, on first use,
 * and commits it when the platform is about to send the response.
 */
export class SessionRequestContext implements SessionPersistence {
  private loading?: Promise<RequestSession>;
  /** Set by `@RotateSession()`: rotate at commit if the response is a success. */
  rotateOnSuccess = false;

  constructor(
    private readonly engine: SessionEngine,
    private readonly binding: HttpBinding,
    private readonly request: PlatformRequest,
    private readonly response: unknown,
  ) {}

  /**
   * The request's session, loaded once. A store outage becomes a 503 with
   * Retry-After: the request fails closed (DESIGN rule 9).
   */
  async session(): Promise<RequestSession> {
    this.loading ??= this.engine.load(this.request.headers.cookie, this);
    try {
      return await this.loading;
    } catch (error) {
      throw this.translate(error);
    }
  }

  /** Called by the platform binding right before the response is sent. */
  async commit(statusCode: number): Promise<string[]> {
    if (!this.loading) return [];
    let session: RequestSession;
    try {
      session = await this.loading;
    } catch {
      return []; // never loaded: nothing to write (the route already answered 503)
    }
    if (this.rotateOnSuccess && statusCode < 400 && session.persisted) {
      session.pendingRotation ??= 'regenerate';
    }
    return this.engine.commit(session);
  }

  async destroy(session: RequestSession): Promise<void> {
    try {
      await this.engine.destroy(session);
    } catch (error) {
      throw this.translate(error);
    }
  }

  async save(session: RequestSession): Promise<void> {
    let cookies: string[];
    try {
      cookies = await this.engine.commit(session);
    } catch (error) {
      throw this.translate(error);
    }
    if (cookies.length > 0 && !this.binding.headersSent(this.response)) {
      this.binding.addCookies(this.response, cookies);
    }
  }

  private translate(error: unknown): unknown {
    if (!(error instanceof SessionStoreUnavailableError)) return error;
    if (!this.binding.headersSent(this.response)) {
      this.binding.setHeader(this.response, 'Retry-After', String(STORE_RETRY_AFTER_SECONDS));
    }
    return new SessionStoreUnavailableException();
  }
}
