import type { SessionRequestContext } from './session-request-context.js';

/** A request object as both platforms give it to guards and decorators. */
export interface PlatformRequest {
  headers: Record<string, string | string[] | undefined>;
}

/** Finds the session context of a request, if it has one. */
export type ContextLookup = (request: object) => SessionRequestContext | undefined;

/**
 * What the session layer needs from an HTTP platform: a last chance to
 * commit before the response goes out (DESIGN rule 7), and header access.
 * One implementation per Nest platform (Express, Fastify).
 */
export interface HttpBinding {
  /** Once at startup, before routes are registered (Fastify's onSend hook). */
  install(instance: unknown, contextOf: ContextLookup): void;
  /** Once at startup: a read-only property every request of the app inherits. */
  decorateRequests(instance: unknown, key: symbol, value: unknown): void;
  /**
   * When a request's session may need a commit (Express: hold the response
   * until it is done). Requests whose session never changes are not gated.
   */
  gate(context: SessionRequestContext, response: unknown): void;
  setHeader(response: unknown, name: string, value: string): void;
  /** Adds Set-Cookie values (never replacing other cookies) with `Cache-Control: no-store`. */
  addCookies(response: unknown, cookies: string[]): void;
  headersSent(response: unknown): boolean;
}
