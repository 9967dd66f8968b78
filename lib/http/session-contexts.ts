import { Injectable, type ExecutionContext } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import { SessionEngine } from '../session/session.engine.js';
import { ExpressBinding } from './express.binding.js';
import { FastifyBinding } from './fastify.binding.js';
import type { HttpBinding, PlatformRequest } from './http-binding.js';
import { SessionRequestContext } from './session-request-context.js';

/**
 * Hands out the per-request session context, created on first use: a
 * request that never asks for its session costs nothing (DESIGN rule 3).
 */
@Injectable()
export class SessionContexts {
  private binding?: HttpBinding;
  /**
   * Contexts by request object. A WeakMap rather than a property on the
   * request: adding properties to the platform's request objects changes
   * their shape and slows every request down, not just ours.
   */
  private readonly byRequest = new WeakMap<object, SessionRequestContext>();

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
    this.binding.install(adapter.getInstance(), (request) => this.byRequest.get(request));
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
    const existing = this.byRequest.get(request);
    if (existing) return existing;
    if (!this.binding) {
      throw new Error(
        'SessionModule is not bound to an HTTP platform yet. Potential solutions: import ' +
          'SessionModule.forRoot() in the application module and call app.init() or app.listen() ' +
          'before serving requests.',
      );
    }
    const context = new SessionRequestContext(this.engine, this.binding, request, response);
    this.byRequest.set(request, context);
    return context;
  }
}
