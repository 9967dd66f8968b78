/**
 * What a platform binding needs from a request's session context: whether
 * the response can go out as it is, and the commit that must run first.
 * `SessionRequestContext` is one; the bindings name only this, so they never
 * depend on the context that depends on them.
 */
export interface PendingCommit {
  /** True when the response can be sent without a commit (synchronous, for the hot path). */
  canSkipCommit(statusCode: number): boolean;
  /** Commits the session; resolves to the Set-Cookie values to add. */
  commit(statusCode: number): Promise<string[]>;
}

/** Finds the session context of a request, if it has one. */
export type ContextLookup = (request: object) => PendingCommit | undefined;

/** A getter and a setter, called with the request as `this`. */
export interface RequestAccessor {
  get(this: object): unknown;
  set(this: object, value: unknown): void;
}

/**
 * What the session layer needs from an HTTP platform: a last chance to
 * commit before the response goes out (the store write and the Set-Cookie
 * happen before the client sees any byte of the answer, however the handler
 * sends it), and header access. One implementation per Nest platform
 * (Express, Fastify).
 */
export interface HttpBinding {
  /** Once at startup, before routes are registered (Fastify's onSend hook). */
  install(instance: unknown, contextOf: ContextLookup): void;
  /** Once at startup: a read-only property every request of the app inherits. */
  decorateRequests(instance: unknown, key: symbol, value: unknown): void;
  /**
   * Once at startup: an accessor property every request of the app inherits
   * (`req.session`). Nothing per request. Answers false, defining nothing,
   * when the platform's requests have that property already (another plugin's,
   * or a middleware's mounted before, such as express-session).
   */
  defineRequestAccessor(instance: unknown, name: string, accessor: RequestAccessor): boolean;
  /**
   * When a request's session may need a commit (Express: hold the response
   * until it is done). Requests whose session never changes are not gated.
   */
  gate(context: PendingCommit, response: unknown): void;
  setHeader(response: unknown, name: string, value: string): void;
  /** Adds Set-Cookie values (never replacing other cookies) with `Cache-Control: no-store`. */
  addCookies(response: unknown, cookies: string[]): void;
  headersSent(response: unknown): boolean;
}
