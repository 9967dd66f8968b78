import { Injectable, type ExecutionContext } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import { installRequestSession } from '../express-session/request-session-property.js';
import {
  graphqlPlatformRequest,
  type GraphQLPlatformRequest,
} from '../graphql/graphql-platform-request.js';
import { SessionEngine } from '../session/session.engine.js';
import { ExpressBinding } from './express.binding.js';
import { FastifyBinding } from './fastify.binding.js';
import type { HttpBinding } from './http-binding.js';
import type { PlatformRequest } from './platform-request.js';
import { addRequestHook } from './request-hook.js';
import { SessionRequestContext } from './session-request-context.js';

/** Where a request keeps its session context (a symbol: invisible to JSON and other code). */
const SESSION_CONTEXT = Symbol('nest-session:context');
/** Where every request of an app finds that app's SessionContexts (set on the request prototype). */
const SESSION_CONTEXTS = Symbol('nest-session:contexts');

interface ContextHolder extends PlatformRequest {
  [SESSION_CONTEXT]?: SessionRequestContext;
  [SESSION_CONTEXTS]?: SessionContexts;
}

/**
 * The HTTP request and response behind an execution context that is not
 * 'http' itself but runs inside an HTTP request: a GraphQL operation (its
 * context object carries them). Off the hot path: HTTP contexts never get here.
 */
function platformRequestOf(executionContext: ExecutionContext): GraphQLPlatformRequest {
  const type = executionContext.getType<string>();
  if (type === 'graphql') return graphqlPlatformRequest(executionContext);
  throw new Error(
    `Sessions are available in HTTP requests and GraphQL operations only, not in '${type}' contexts.`,
  );
}

const NOT_BOUND =
  'SessionModule is not bound to an HTTP platform yet. Potential solutions: import ' +
  'SessionModule.forRoot() in the application module and call app.init() or app.listen() ' +
  'before serving requests.';

/**
 * Hands out the per-request session context, created on first use: a
 * request that never asks for its session costs nothing: no context, no
 * cookie parsing, no store call.
 */
@Injectable()
export class SessionContexts {
  private binding?: HttpBinding;

  constructor(private readonly engine: SessionEngine) {}

  /** Binds the module to the app's HTTP platform; called once, before routes are registered. */
  install(adapterHost: HttpAdapterHost): void {
    const adapter = adapterHost.httpAdapter;
    if (!adapter) return; // not an HTTP application (e.g. a standalone context): nothing to bind
    const type = adapter.getType();
    if (type === 'express') this.binding = new ExpressBinding();
    else if (type === 'fastify') this.binding = new FastifyBinding();
    else {
      throw new Error(
        `SessionModule supports the 'express' and 'fastify' HTTP platforms, not '${type}'. ` +
          'Potential solutions: use @nestjs/platform-express or @nestjs/platform-fastify.',
      );
    }
    const instance = adapter.getInstance();
    this.binding.install(instance, (request) => (request as ContextHolder)[SESSION_CONTEXT]);
    // `@Session()` is a plain param decorator without dependency injection (a
    // pipe would cost every route several promises): it finds this app's
    // contexts on the request itself, through the platform's request prototype.
    this.binding.decorateRequests(instance, SESSION_CONTEXTS, this);
    // `req.session`: the express-session facade (`expressSessionCompat`), or a clear error.
    installRequestSession(
      this.binding,
      instance,
      {
        load: (request, response) => this.forRequest(request, response).sessionOrPromise(),
        loaded: (request) => (request as ContextHolder)[SESSION_CONTEXT]?.loadedSession,
        beforeRequests: (hook) => addRequestHook(adapter, hook),
      },
      this.engine.options,
    );
  }

  /**
   * The session context of an HTTP or GraphQL execution context, for code that has no
   * injector at hand (`@Session()`): found through the app's requests.
   */
  static fromAnyExecutionContext(executionContext: ExecutionContext): SessionRequestContext {
    if (executionContext.getType() !== 'http') {
      const { request, response } = platformRequestOf(executionContext);
      const contexts = (request as ContextHolder)[SESSION_CONTEXTS];
      if (!contexts) throw new Error(NOT_BOUND);
      return contexts.forRequest(request, response);
    }
    const request = executionContext.getArgByIndex<ContextHolder>(0);
    const contexts = request[SESSION_CONTEXTS];
    if (!contexts) throw new Error(NOT_BOUND);
    return contexts.forRequest(request, executionContext.getArgByIndex<unknown>(1));
  }

  /**
   * The platform request of an HTTP context, or of the HTTP request a
   * GraphQL operation runs in (for the guards that read headers).
   */
  static requestOf(executionContext: ExecutionContext): PlatformRequest {
    return executionContext.getType() === 'http'
      ? executionContext.getArgByIndex<PlatformRequest>(0)
      : platformRequestOf(executionContext).request;
  }

  /** The request's session context if something created it already (never creates one). */
  static existing(request: PlatformRequest): SessionRequestContext | undefined {
    return (request as ContextHolder)[SESSION_CONTEXT];
  }

  fromExecutionContext(executionContext: ExecutionContext): SessionRequestContext {
    if (executionContext.getType() !== 'http') {
      const { request, response } = platformRequestOf(executionContext);
      return this.forRequest(request, response);
    }
    // (request, response) are the first two arguments of an HTTP context; reading them
    // directly avoids switchToHttp(), which builds new accessor closures on every call.
    return this.forRequest(
      executionContext.getArgByIndex<PlatformRequest>(0),
      executionContext.getArgByIndex<unknown>(1),
    );
  }

  forRequest(request: PlatformRequest, response: unknown): SessionRequestContext {
    const holder = request as ContextHolder;
    const existing = holder[SESSION_CONTEXT];
    if (existing) return existing;
    if (!this.binding) throw new Error(NOT_BOUND);
    const context = new SessionRequestContext(this.engine, this.binding, request, response);
    // A property on the request rather than a WeakMap: WeakMap entries are
    // ephemerons, noticeably costlier for the garbage collector per request.
    holder[SESSION_CONTEXT] = context;
    return context;
  }
}
