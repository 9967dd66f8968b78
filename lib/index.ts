/** Module and options. */
export { SessionModule } from './session.module.js';
export type { SessionModuleOptions, SessionCookieOptions } from './session.options.js';
/** The `rotation`, `bruteForce`, `csrf` and `logging` groups of SessionModuleOptions. */
export type {
  SessionRotationOptions,
  SessionBruteForceOptions,
  SessionCsrfOptions,
  SessionLoggingOptions,
} from './session.options.js';
/** `forRootAsync()` options (`useFactory`, `useClass`, `useExisting`, `imports`, `inject`). */
export type { SessionModuleAsyncOptions } from './session.module-definition.js';
/** What a `forRootAsync({ useClass })` class implements: `createSessionOptions()`. */
export type { SessionOptionsFactory } from './session.module-definition.js';
/** Thrown at startup for invalid options; lists every problem. */
export { SessionOptionsError } from './session.errors.js';
/** Programmatic access: listing, revocation, events. */
export { SessionService, type SessionListEntry } from './session.service.js';
/** `@Session()` decorator and the `Session` type. */
export { Session } from './decorators/session.decorator.js';
/** Your own decorators, guards and interceptors: the request's session from any ExecutionContext. */
export { getSession } from './decorators/get-session.js';
/** Opens a route to anonymous requests under an app-wide SessionGuard. */
export { AllowAnonymous } from './decorators/allow-anonymous.decorator.js';
/** The session API and what `logIn()` takes. */
export type { SessionApi, SessionLogIn, SessionEndReason } from './session/session.interface.js';
/**
 * `req.session` with `expressSessionCompat: true`: express-session's API over
 * this module's session (and Passport's session flow on it: see README "Passport").
 */
export type {
  ExpressSession,
  ExpressSessionCookie,
  ExpressSessionCallback,
} from './express-session/express-session.interface.js';
/** The message `req.session` throws when `expressSessionCompat` is off (what Nest's built-in `@Session()` then fails with). */
export { REQ_SESSION_OFF_MESSAGE } from './express-session/request-session-property.js';
/** Guard and route metadata. */
export { SessionGuard } from './guards/session.guard.js';
/**
 * What guards and `@Session()` throw in a GraphQL resolver: `extensions`
 * `{ code, reason }` for the client, the HTTP exception as `exception`.
 */
export {
  SessionGraphQLError,
  type SessionGraphQLErrorExtensions,
} from './graphql/session-graphql-error.js';
/** CSRF defence: Fetch Metadata, Origin and a session-bound token in `x-csrf-token`. */
export { CsrfGuard, CSRF_HEADER, type CsrfRequest } from './guards/csrf.guard.js';
/** Origin-only CSRF defence (Fetch Metadata + Origin, no token, no session): for log-in routes. */
export { SameOriginGuard } from './guards/same-origin.guard.js';
/** Route requirements read by SessionGuard: roles (403) and log-in freshness (401 reauth_required). */
export {
  RequireSession,
  type RequireSessionOptions,
} from './decorators/require-session.decorator.js';
/** Rotate the session ID when the handler succeeds. */
export { RotateSession, RotateSessionInterceptor } from './decorators/rotate-session.decorator.js';
/** HTTP errors, each with a stable `reason`. */
export {
  SessionUnauthorizedException,
  SessionForbiddenException,
  SessionStoreUnavailableException,
  CsrfForbiddenException,
  TooManyInvalidSessionsException,
  type SessionErrorReason,
} from './session.exceptions.js';
/**
 * Token sessions: access tokens (jose), refresh-token families in the store,
 * the bearer guard and `@AccessToken()`.
 */
export {
  TokenService,
  ACCESS_TOKEN_TYPE,
  type AccessTokenSubject,
  type IssuedAccessToken,
  type PublicJwks,
  type TokenPair,
} from './tokens/token.service.js';
export { AccessTokenGuard } from './guards/access-token.guard.js';
export { AccessToken } from './decorators/access-token.decorator.js';
/** The verified token's principal, and the error `verifyAccessToken()` throws. */
export type { AccessTokenPrincipal } from './tokens/access-token-principal.js';
export {
  TokenVerificationError,
  TokensNotConfiguredError,
  type TokenFailureReason,
} from './tokens/token.errors.js';
/** 401 of token sessions (`token_missing`, `token_invalid`, `token_expired`, `token_revoked`, `refresh_reused`). */
export { TokenUnauthorizedException, type TokenUnauthorizedReason } from './session.exceptions.js';
/** The `tokens` group of SessionModuleOptions. */
export type { SessionTokenOptions, SessionTokenKeySet } from './session.options.js';
export type { RefreshCookieOptions } from './options/token-options.js';
/** 413 `session_too_large`: a write would take the session's data over `maxSessionBytes`. */
export { SessionTooLargeException } from './session.exceptions.js';
/** Readiness: a @nestjs/terminus health indicator for the store (terminus is an optional peer). */
export { SessionStoreHealthIndicator } from './health/session-store.health-indicator.js';
/** Stores. */
export { SessionStore } from './stores/session-store.interface.js';
export type {
  SessionRecord,
  SessionPatch,
  UserSessionEntry,
  RefreshFamilyState,
} from './stores/session-record.js';
/** What a store's `rotate()` takes and answers (the conditional ID change). */
export type {
  RotateOptions,
  RotateOutcome,
  RedeemRequest,
  RedeemOutcome,
} from './stores/session-store.interface.js';
/** The reasons carried by `rotated`, `destroyed`, `expired` and `rejected` events. */
export type {
  SessionRotationCause,
  SessionDestroyedReason,
  SessionExpiredReason,
  SessionRejectedReason,
} from './events/session-event.js';
export { MemoryStore, type MemoryStoreOptions } from './stores/memory.store.js';
/** Redis (ioredis, standalone or Cluster; node-redis clients too). ioredis is loaded only when used. */
export { RedisStore, RedisStoreError, type RedisStoreOptions } from './stores/redis.store.js';
/** Lifecycle events, and the one-line format the default event log writes them in. */
export type { SessionEvent, SessionEventType } from './events/session-event.js';
export { formatEvent, type SessionEventLogLevel } from './events/session-event-logger.js';
/** Durations: milliseconds or strings such as '30m'. */
export type { Duration } from './utils/duration.js';
/** WebSocket gateways (@nestjs/platform-ws, @nestjs/platform-socket.io): the handshake's session, read-only, and sockets closed when it ends. */
export * from './websockets/index.js';
