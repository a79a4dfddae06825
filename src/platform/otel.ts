/**
 * The OpenTelemetry implementation of tracing.ts, loaded (by dynamic import) only when tracing
 * is on. Spans are made by hand at the platform's few seams (the RPC handler, the bridge's
 * hooks, knex's query events, the Redlock calls) rather than by @opentelemetry/instrumentation-*
 * packages: those patch modules as they load, which under ESM needs a loader hook registered
 * before the app starts (`--import`), so they could not stay unloaded when tracing is off; the
 * fastify one is deprecated (for @fastify/otel); and the seams here carry what they cannot
 * (the calling app, the request id, the lock's name).
 *
 * Each Tracing owns its provider, context manager and propagator: nothing is registered
 * globally, so two apps in one process (the tests) never mix their spans.
 */
import * as grpc from '@grpc/grpc-js';
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  defaultTextMapGetter,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ExportResultCode, W3CTraceContextPropagator, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import type { FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import type { Logger } from './logger.js';
import type { ChildSpan, RpcSpan, SpanAttributes, Tracing } from './tracing.js';

export interface CreateTracingOptions {
  readonly serviceName: string;
  readonly exporter: SpanExporter;
  /** `batch` (the default) exports in the background; `simple` exports each span as it ends (tests). */
  readonly processor?: 'batch' | 'simple';
  /** Where failed exports are reported (at most one line a minute). */
  readonly logger?: Logger;
}

/** An OTLP over HTTP exporter to `url` (OTEL_EXPORTER_OTLP_HEADERS and _TIMEOUT apply). */
export function otlpExporter(url: string): SpanExporter {
  return new OTLPTraceExporter({ url });
}

/** Codes that mean the server failed (OpenTelemetry's gRPC conventions); others are the caller's doing. */
const SERVER_FAULTS: ReadonlySet<grpc.status> = new Set([
  grpc.status.UNKNOWN,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.UNIMPLEMENTED,
  grpc.status.INTERNAL,
  grpc.status.UNAVAILABLE,
  grpc.status.DATA_LOSS,
]);

const metadataGetter: TextMapGetter<grpc.Metadata> = {
  keys: (carrier) => Object.keys(carrier.getMap()),
  get(carrier, key) {
    const values = carrier.get(key).filter((v): v is string => typeof v === 'string');
    return values.length === 0 ? undefined : values;
  },
};

const metadataSetter: TextMapSetter<grpc.Metadata> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

/** Attributes without the undefined ones. */
function defined(attributes: SpanAttributes): Attributes {
  const out: Attributes = {};
  for (const [key, value] of Object.entries(attributes)) if (value !== undefined) out[key] = value;
  return out;
}

function rpcAttributes(path: string): Attributes {
  const slash = path.lastIndexOf('/');
  return { 'rpc.system': 'grpc', 'rpc.service': path.slice(1, slash), 'rpc.method': path.slice(slash + 1) };
}

/** What knex passes with its query events; `sql` has placeholders, the values are in `bindings` (never read). */
interface KnexQuery {
  readonly __knexQueryUid?: string;
  readonly sql?: string;
}

/** The statement's first keyword (SELECT, INSERT, CALL, ...) and the table or procedure it names. */
export function describeSql(sql: string): { operation: string; target: string | undefined } {
  const operation = (/^\s*(\w+)/.exec(sql)?.[1] ?? 'QUERY').toUpperCase();
  const pattern = operation === 'CALL' ? /^\s*call\s+[`"]?([\w.]+)/i : /\b(?:from|into|update)\s+[`"[]?([\w.]+)/i;
  return { operation, target: pattern.exec(sql)?.[1] };
}

/** How long shutdown waits for the last spans to be sent (a collector that is down must not hold a stop). */
const SHUTDOWN_WAIT_MS = 2_000;

/** Spans of queries still running, bounded so that queries knex never reports the end of cannot pile up. */
const MAX_OPEN_QUERIES = 10_000;

/** A SpanExporter that reports failed exports to the log, at most one line a minute. */
class ReportingExporter implements SpanExporter {
  private lastReport = 0;
  constructor(
    private readonly inner: SpanExporter,
    private readonly logger: Logger | undefined,
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code === ExportResultCode.FAILED && this.logger !== undefined && Date.now() - this.lastReport > 60_000) {
        this.lastReport = Date.now();
        this.logger.warn({ err: result.error, spans: spans.length }, 'tracing: exporting spans failed (OTEL_EXPORTER_OTLP_ENDPOINT)');
      }
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

export function createTracing(options: CreateTracingOptions): Tracing {
  const exporter = new ReportingExporter(options.exporter, options.logger);
  const provider = new BasicTracerProvider({
    resource: defaultResource().merge(resourceFromAttributes({ 'service.name': options.serviceName })),
    spanProcessors: [options.processor === 'simple' ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('huodong');
  const contextManager = new AsyncLocalStorageContextManager().enable();
  const propagator = new W3CTraceContextPropagator();
  const active = (): Context | undefined => {
    const context = contextManager.active();
    return trace.getSpan(context) === undefined ? undefined : context;
  };

  const startRpc = (path: string, metadata: grpc.Metadata, requestId: string): RpcSpan => {
    const parent = propagator.extract(ROOT_CONTEXT, metadata, metadataGetter);
    const span = tracer.startSpan(
      path.slice(1),
      { kind: SpanKind.SERVER, attributes: { ...rpcAttributes(path), 'huodong.request_id': requestId } },
      parent,
    );
    const context = trace.setSpan(parent, span);
    return {
      run: (fn) => contextManager.with(context, fn),
      end(code, app, reason) {
        span.setAttributes(defined({ 'rpc.grpc.status_code': code, 'huodong.app': app, 'huodong.reason': reason }));
        if (SERVER_FAULTS.has(code)) span.setStatus({ code: SpanStatusCode.ERROR, message: grpc.status[code] });
        span.end();
      },
    };
  };

  const endChild = (span: Span) => (attributes?: SpanAttributes, failure?: string): void => {
    if (attributes !== undefined) span.setAttributes(defined(attributes));
    if (failure !== undefined) {
      span.setAttribute('error.type', failure);
      span.setStatus({ code: SpanStatusCode.ERROR, message: failure });
    }
    span.end();
  };

  const startChild = (name: string, attributes: SpanAttributes): ChildSpan | undefined => {
    const parent = active();
    if (parent === undefined) return undefined;
    const span = tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes: defined(attributes) }, parent);
    return { end: endChild(span) };
  };

  const clientInterceptor: grpc.Interceptor = (callOptions, nextCall) => {
    const parent = active();
    if (parent === undefined) return new grpc.InterceptingCall(nextCall(callOptions));
    const path = callOptions.method_definition.path;
    const span = tracer.startSpan(path.slice(1), { kind: SpanKind.CLIENT, attributes: rpcAttributes(path) }, parent);
    const context = trace.setSpan(parent, span);
    return new grpc.InterceptingCall(nextCall(callOptions), {
      start(metadata, _listener, next) {
        propagator.inject(context, metadata, metadataSetter);
        next(metadata, {
          onReceiveStatus(status, nextStatus) {
            span.setAttribute('rpc.grpc.status_code', status.code);
            if (status.code !== grpc.status.OK) span.setStatus({ code: SpanStatusCode.ERROR, message: grpc.status[status.code] });
            span.end();
            nextStatus(status);
          },
        });
      },
    });
  };

  return {
    startRpc,
    startChild,
    clientInterceptor,

    instrumentBridge(app, bridge) {
      const open = new WeakMap<FastifyRequest, { readonly span: Span; readonly context: Context }>();
      app.addHook('onRequest', (request, _reply, done) => {
        const route = request.routeOptions.url;
        if (route !== undefined && bridge.skip.has(route)) {
          done();
          return;
        }
        const parent = propagator.extract(ROOT_CONTEXT, request.headers, defaultTextMapGetter);
        const query = request.url.indexOf('?');
        const span = tracer.startSpan(
          route === undefined ? request.method : `${request.method} ${route}`,
          {
            kind: SpanKind.SERVER,
            attributes: defined({
              'http.request.method': request.method,
              'http.route': route,
              // the path only: query strings carry tokens, award codes and openids
              'url.path': query === -1 ? request.url : request.url.slice(0, query),
              'huodong.request_id': request.id,
            }),
          },
          parent,
        );
        open.set(request, { span, context: trace.setSpan(parent, span) });
        done();
      });
      // Body parsing runs on the socket's events, outside any context entered in onRequest, so
      // each handler is wrapped to run with its request's span active.
      app.addHook('onRoute', (route) => {
        const handler = route.handler;
        const traced = function (this: unknown, request: FastifyRequest, reply: FastifyReply): unknown {
          const entry = open.get(request);
          return entry === undefined ? handler.call(this as never, request, reply) : contextManager.with(entry.context, () => handler.call(this as never, request, reply));
        };
        route.handler = traced as RouteHandlerMethod;
      });
      const end = (request: FastifyRequest, status: number | undefined): void => {
        const entry = open.get(request);
        if (entry === undefined) return;
        open.delete(request);
        const { span } = entry;
        span.setAttributes(defined({ ...bridge.attributesAtEnd(request), 'http.response.status_code': status }));
        if (status === undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: 'aborted by the client' });
        else if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: String(status) });
        span.end();
      };
      app.addHook('onResponse', (request, reply, done) => {
        end(request, reply.statusCode);
        done();
      });
      app.addHook('onRequestAbort', (request, done) => {
        end(request, undefined);
        done();
      });
    },

    instrumentKnex(knex, system) {
      const open = new Map<string, Span>();
      const finish = (query: KnexQuery | undefined, failure?: string): void => {
        const uid = query?.__knexQueryUid;
        if (uid === undefined) return;
        const span = open.get(uid);
        if (span === undefined) return;
        open.delete(uid);
        if (failure !== undefined) {
          span.setAttribute('error.type', failure);
          span.setStatus({ code: SpanStatusCode.ERROR, message: failure });
        }
        span.end();
      };
      knex.on('query', (query: KnexQuery) => {
        // BEGIN and COMMIT carry no uid and report no end: only statements are traced.
        const uid = query.__knexQueryUid;
        if (uid === undefined || query.sql === undefined) return;
        const parent = active();
        if (parent === undefined) return;
        if (open.size >= MAX_OPEN_QUERIES) {
          for (const span of open.values()) span.end();
          open.clear();
        }
        const { operation, target } = describeSql(query.sql);
        const span = tracer.startSpan(
          target === undefined ? operation : `${operation} ${target}`,
          {
            kind: SpanKind.CLIENT,
            attributes: defined({
              'db.system': system,
              'db.operation': operation,
              [operation === 'CALL' ? 'db.stored_procedure.name' : 'db.sql.table']: target,
            }),
          },
          parent,
        );
        open.get(uid)?.end();
        open.set(uid, span);
      });
      knex.on('query-response', (_response: unknown, query: KnexQuery) => finish(query));
      // The error's message quotes the statement with its values: only its code is kept.
      knex.on('query-error', (err: unknown, query: KnexQuery) => {
        const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
        finish(query, typeof code === 'string' ? code : 'error');
      });
    },

    async shutdown() {
      let timer: NodeJS.Timeout | undefined;
      const cap = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, SHUTDOWN_WAIT_MS);
        timer.unref();
      });
      const flushed = provider.shutdown().catch((err: unknown) => options.logger?.warn({ err }, 'tracing: shutdown failed'));
      await Promise.race([flushed, cap]).finally(() => clearTimeout(timer));
      contextManager.disable();
    },
  };
}
