/**
 * Tracing (OpenTelemetry), off unless OTEL_EXPORTER_OTLP_ENDPOINT (or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set. This module is the interface the platform codes
 * against and imports nothing of OpenTelemetry at run time: the implementation (otel.ts) and
 * the OpenTelemetry packages are loaded by dynamic import only when tracing is on, so an
 * instance without it loads none of them and pays one `undefined` check per call, query or lock.
 *
 * What is traced: a SERVER span per RPC (rpc.ts) and per bridge route (bridge/server.ts), a
 * CLIENT span per gRPC call the bridge makes, DB child spans from knex's query events (the
 * operation and table, never the statement's values) and lock acquire/release spans on Redis
 * (locks.ts). W3C trace context (traceparent, tracestate) is read from incoming gRPC metadata
 * and HTTP headers and written into the bridge's outgoing gRPC metadata.
 */
import type * as grpc from '@grpc/grpc-js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Knex } from 'knex';
import type { Logger } from './logger.js';

export type SpanAttributes = Readonly<Record<string, string | number | boolean | undefined>>;

/** The span of one RPC, started before authentication. */
export interface RpcSpan {
  /** Runs the call's work with this span active, so its queries and locks become children. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** Ends the span with the call's answer; `app` is the authenticated caller, when known. */
  end(code: grpc.status, app: string | undefined, reason: string | undefined): void;
}

/** A child span that is not made active (nothing nests under it). */
export interface ChildSpan {
  /**
   * Ends the span with these attributes. `failure` marks it failed: an error type or outcome
   * (`busy`, `ER_DUP_ENTRY`), never an error message, which may quote values.
   */
  end(attributes?: SpanAttributes, failure?: string): void;
}

export interface BridgeTracingOptions {
  /** Route patterns not traced (the ops routes, scraped every few seconds). */
  readonly skip: ReadonlySet<string>;
  /** Attributes known only once the answer is sent (the calling app). */
  readonly attributesAtEnd: (request: FastifyRequest) => SpanAttributes;
}

export interface Tracing {
  /** A SERVER span for one RPC, the child of the caller's `traceparent` when it sent one. */
  startRpc(path: string, metadata: grpc.Metadata, requestId: string): RpcSpan;
  /** A child of the active span, or undefined when no span is active (background work). */
  startChild(name: string, attributes: SpanAttributes): ChildSpan | undefined;
  /**
   * A SERVER span per bridge request, the child of the request's `traceparent`, active while
   * its route handler runs. Call before any route is added (it wraps handlers as they are).
   */
  instrumentBridge(app: FastifyInstance, options: BridgeTracingOptions): void;
  /**
   * For the bridge's clients (channelOptions.interceptors): a CLIENT span per call made while
   * a span is active, its context sent on as `traceparent`/`tracestate`.
   */
  readonly clientInterceptor: grpc.Interceptor;
  /** DB child spans from knex's query events, while a span is active. */
  instrumentKnex(knex: Knex, system: 'mysql' | 'sqlite'): void;
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

export interface TracingSettings {
  /** The OTLP/HTTP traces URL; undefined turns tracing off. */
  readonly otlpTracesUrl: string | undefined;
  readonly serviceName: string;
  readonly logger?: Logger;
}

/** The tracing of an app, or undefined (and nothing loaded) when no OTLP endpoint is set. */
export async function startTracing(settings: TracingSettings): Promise<Tracing | undefined> {
  if (settings.otlpTracesUrl === undefined) return undefined;
  const { createTracing, otlpExporter } = await import('./otel.js');
  return createTracing({
    serviceName: settings.serviceName,
    exporter: otlpExporter(settings.otlpTracesUrl),
    ...(settings.logger === undefined ? {} : { logger: settings.logger }),
  });
}
