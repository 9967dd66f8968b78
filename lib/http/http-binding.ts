import type { SessionRequestContext } from './session-request-context.js';

/** Where a request's session context is kept on the platform's request object. */
export const SESSION_CONTEXT = Symbol('nest-session:context');

/** A request object as both platforms give it to guards and decorators. */
export interface PlatformRequest {
  headers: Record<string, string | string[] | undefined>;
  [SESSION_CONTEXT]?: SessionRequestContext;
}

/**
 * What the session layer needs from an HTTP platform: a last chance to
 * commit before the response goes out (DESIGN rule 7), and header access.
 * One implementation per Nest platform (Express, Fastify).
 */
export interface HttpBinding {
  /** Once at startup, before routes are registered (Fastify's onSend hook). */
  install(instance: unknown): void;
  /** When a request first touches its session (Express: gate the response). */
  attach(context: SessionRequestContext, response: unknown): void;
  setHeader(response: unknown, name: string, value: string): void;
  /** Adds Set-Cookie values (never replacing other cookies) with `Cache-Control: no-store`. */
  addCookies(response: unknown, cookies: string[]): void;
  headersSent(response: unknown): boolean;
}
