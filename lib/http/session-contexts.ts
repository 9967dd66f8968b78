import { Injectable, type ExecutionContext } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import { SessionEngine } from '../session/session.engine.js';
import { ExpressBinding } from './express.binding.js';
import { FastifyBinding } from './fastify.binding.js';
import type { HttpBinding, PlatformRequest } from './http-binding.js';
import { SessionRequestContext } from './session-request-context.js';

/** Where a request keeps its session context (a symbol: invisible to JSON and other code). */
const SESSION_CONTEXT = Symbol('nest-session:context');

interface ContextHolder extends PlatformRequest {
  [SESSION_CONTEXT]?: SessionRequestContext;
}

/**
 * Hands out the per-request session context, created on first use: a
 * request that never asks for its session costs nothing (DESIGN rule 3).
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
    this.binding.install(
      adapter.getInstance(),
      (request) => (request as ContextHolder)[SESSION_CONTEXT],
    );
  }

  fromExecutionContext(executionContext: ExecutionContext): SessionRequestContext {
    if (executionContext.getType() !== 'http') {
      throw new Error(
        `Sessions are available in HTTP requests only, not in '${executionContext.getType()}' contexts.`,
      );
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
    if (!this.binding) {
      throw new Error(
        'SessionModule is not bound to an HTTP platform yet. Potential solutions: import ' +
          'SessionModule.forRoot() in the application module and call app.init() or app.listen() ' +
          'before serving requests.',
      );
    }
    const context = new SessionRequestContext(this.engine, this.binding, request, response);
    // A property on the request rather than a WeakMap: WeakMap entries are
    // ephemerons, noticeably costlier for the garbage collector per request.
    holder[SESSION_CONTEXT] = context;
    return context;
  }
}
