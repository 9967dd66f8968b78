import { createRequire } from 'node:module';
import type { Span, Tracer } from '@opentelemetry/api';

type OpenTelemetryApi = typeof import('@opentelemetry/api');

/** The tracer's name (the instrumentation scope) that store spans carry. */
export const TRACER_NAME = 'nest-session-manager';

/**
 * Store calls as OpenTelemetry spans, when the app has `@opentelemetry/api`
 * installed: one span per call, named `session.store <operation>`, a child of
 * whatever span is active (the request's, under an HTTP instrumentation),
 * marked as an error when the call fails. Without the package nothing is
 * loaded and {@link StoreTracing.load} answers undefined; with the package
 * but no SDK registered, the API's own no-op tracer makes each span a few
 * property reads.
 */
export class StoreTracing {
  private constructor(
    private readonly api: OpenTelemetryApi,
    private readonly tracer: Tracer,
    /** `client` for a store across the network, `internal` for one in this process. */
    private readonly remote: boolean,
    private readonly storeName: string,
  ) {}

  /** Tracing for calls to `store`, or undefined when `@opentelemetry/api` is not installed. */
  static load(store: object): StoreTracing | undefined {
    const api = loadOpenTelemetry();
    if (!api) return undefined;
    const storeName = store.constructor.name;
    return new StoreTracing(
      api,
      api.trace.getTracer(TRACER_NAME),
      storeName !== 'MemoryStore',
      storeName,
    );
  }

  /** Starts the span of one store call; the caller ends it with {@link StoreTracing.end}. */
  start(operation: string, kind: string): Span {
    const { SpanKind } = this.api;
    return this.tracer.startSpan(`session.store ${operation}`, {
      kind: this.remote ? SpanKind.CLIENT : SpanKind.INTERNAL,
      attributes: {
        'session.store': this.storeName,
        'session.store.operation': operation,
        'session.kind': kind,
      },
    });
  }

  /** Ends a span, as an error when the call failed (the error's type, never its message: it may hold a key). */
  end(span: Span, error?: unknown): void {
    if (error !== undefined) {
      const type = error instanceof Error ? error.name : typeof error;
      span.setAttribute('error.type', type);
      span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: type });
    }
    span.end();
  }
}

function loadOpenTelemetry(): OpenTelemetryApi | undefined {
  try {
    return createRequire(import.meta.url)('@opentelemetry/api') as OpenTelemetryApi;
  } catch {
    return undefined;
  }
}
