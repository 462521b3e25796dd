// @beacon/sdk/otel — OpenTelemetry traces to Beacon: an OTLP/HTTP exporter pointed at
// `<url>/api/otlp/v1/traces` with the access token, so GenAI instrumentations (OpenAI, Anthropic,
// agent frameworks) report their spans to Beacon. Needs OpenTelemetry's packages beside it:
//   npm install @opentelemetry/api @opentelemetry/sdk-trace-base @opentelemetry/resources @opentelemetry/exporter-trace-otlp-http

import { ROOT_CONTEXT, context, trace, type Context, type ContextManager } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';

export interface TracingOptions {
  /** The resource's `service.name`, which Beacon's traces list shows. */
  serviceName?: string;
  /** The share of new traces recorded, 0 to 1 (0 records none; a child follows its parent). Default 1. */
  sampleRate?: number;
  /** More resource attributes. */
  resourceAttributes?: Record<string, string | number | boolean>;
  /** Make it the global tracer provider (and context manager), which instrumentations use. Default true. */
  register?: boolean;
  /** Export in the background in batches (default), or each span as it ends (scripts, tests). */
  batch?: boolean;
  /** Milliseconds one export may take. Default 10,000. */
  exportTimeoutMillis?: number;
  /**
   * Carries the active span across `await`. Default in Node: one on `AsyncLocalStorage` (Node
   * 20.16+; on older Node pass `new AsyncLocalStorageContextManager()` from
   * `@opentelemetry/context-async-hooks`). Browsers: none unless given (e.g. ZoneContextManager).
   */
  contextManager?: ContextManager;
}

/** Beacon's OTLP/HTTP traces endpoint. */
export function tracesEndpoint(url: string): string {
  return `${url.replace(/\/+$/, '')}/api/otlp/v1/traces`;
}

interface AsyncLocalStorageLike<T> {
  getStore(): T | undefined;
  run<R>(store: T, fn: () => R): R;
  disable(): void;
}

/** A context manager on Node's AsyncLocalStorage, when the runtime can hand one over. */
function asyncLocalStorageContextManager(): ContextManager | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (name: string) => unknown } }).process;
  const hooks = proc?.getBuiltinModule?.('node:async_hooks') as
    | { AsyncLocalStorage?: new () => AsyncLocalStorageLike<Context> }
    | undefined;
  if (!hooks?.AsyncLocalStorage) return undefined;
  const storage = new hooks.AsyncLocalStorage();
  const manager: ContextManager = {
    active: () => storage.getStore() ?? ROOT_CONTEXT,
    with: (ctx, fn, thisArg, ...args) => storage.run(ctx, () => fn.call(thisArg, ...args)),
    bind: <T>(ctx: Context, target: T): T => {
      if (typeof target !== 'function') return target;
      const fn = target as unknown as (...a: unknown[]) => unknown;
      return function (this: unknown, ...args: unknown[]) {
        return storage.run(ctx, () => fn.apply(this, args));
      } as unknown as T;
    },
    enable: () => manager,
    disable: () => {
      storage.disable();
      return manager;
    },
  };
  return manager;
}

/**
 * Builds an OpenTelemetry tracer provider that exports to the Beacon at `url` with `token` (an
 * access token with the member role), registers it globally unless `register: false`, and
 * returns it. Call `provider.forceFlush()` to send now, `provider.shutdown()` at the end.
 */
export function configureTracing(url: string, token: string, options: TracingOptions = {}): BasicTracerProvider {
  const rate = Math.min(1, Math.max(0, options.sampleRate ?? 1));
  const attributes: Record<string, string | number | boolean> = { ...options.resourceAttributes };
  if (options.serviceName) attributes['service.name'] = options.serviceName;
  const exporter = new OTLPTraceExporter({
    url: tracesEndpoint(url),
    headers: { Authorization: `Bearer ${token}` },
    timeoutMillis: options.exportTimeoutMillis ?? 10_000,
  });
  const processor = options.batch === false ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter);
  const provider = new BasicTracerProvider({
    resource: defaultResource().merge(resourceFromAttributes(attributes)),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(rate) }),
    spanProcessors: [processor],
  });
  if (options.register !== false) {
    const manager = options.contextManager ?? asyncLocalStorageContextManager();
    if (manager) context.setGlobalContextManager(manager.enable());
    trace.setGlobalTracerProvider(provider);
  }
  return provider;
}
