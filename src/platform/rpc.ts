/**
 * The gRPC edge. Areas describe a service as a ts-proto generic definition plus plain async
 * handlers and the scope each method needs; this module turns that into grpc-js handlers with
 * the cross-cutting concerns applied once: request ids, auth, deadlines, error mapping, logs.
 * Unary methods answer a promise; server-streaming ones (`returns (stream ...)`) an async
 * iterable, written with backpressure and stopped when the caller goes away.
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { BinaryWriter } from '@bufbuild/protobuf/wire';
import { ErrorInfo, Status } from '../gen/huodong/common/v1/error.js';
import type { App, AppStore } from './auth.js';
import { businessObservers } from './business-metrics.js';
import { classifyStoreError } from './db.js';
import { DeadlineExceededError, DomainError, InternalError, PermissionDeniedError, type ErrorKind } from './errors.js';
import type { Logger } from './logger.js';
import { disabledMetrics, type Metrics } from './metrics.js';
import { ON_BEHALF_OF_HEADER } from './owner.js';
import type { Scope } from './scopes.js';
import type { RpcSpan, Tracing } from './tracing.js';

interface MessageFns<T> {
  encode(message: T, writer?: BinaryWriter): BinaryWriter;
  decode(input: Uint8Array): T;
}

interface MethodDefinition<Req, Res> {
  readonly name: string;
  readonly requestType: MessageFns<Req>;
  readonly responseType: MessageFns<Res>;
  /** Client and bidirectional streams are not supported: such a service does not compile. */
  readonly requestStream: false;
  readonly responseStream: boolean;
}

export interface ServiceDefinition {
  readonly name: string;
  readonly fullName: string;
  readonly methods: { readonly [method: string]: MethodDefinition<unknown, unknown> };
}

/** What every handler receives besides its request. */
export interface CallContext {
  readonly requestId: string;
  readonly method: string;
  readonly app: App;
  /**
   * The legacy principal named in the `huodong-on-behalf-of` header, if any; services turn it
   * into the owner of the call's keys (platform/owner.ts), which checks the caller may.
   */
  readonly onBehalfOf: string | undefined;
  /** Aborted when the caller cancels or its deadline passes. */
  readonly signal: AbortSignal;
  /** The caller's deadline, epoch ms (Infinity without one), for work that must answer before it. */
  readonly deadline: number;
  readonly log: Logger;
}

type RequestOf<M> = M extends MethodDefinition<infer Req, unknown> ? Req : never;
type ResponseOf<M> = M extends MethodDefinition<unknown, infer Res> ? Res : never;

/**
 * A unary method's handler answers a promise. A server-streaming method's handler answers an
 * async iterable (typically an async generator) of its messages: the edge pulls the next one
 * only once the previous one has been taken by the transport (backpressure), and stops pulling
 * (returning the iterator, so a generator's `finally` runs) when the caller cancels, its
 * deadline passes or the iterable throws.
 */
export type ServiceHandlers<D extends ServiceDefinition> = {
  readonly [K in keyof D['methods']]: D['methods'][K] extends { readonly responseStream: true }
    ? (request: RequestOf<D['methods'][K]>, context: CallContext) => AsyncIterable<ResponseOf<D['methods'][K]>>
    : (request: RequestOf<D['methods'][K]>, context: CallContext) => Promise<ResponseOf<D['methods'][K]>>;
};

export interface ServiceRegistration<D extends ServiceDefinition = ServiceDefinition> {
  readonly definition: D;
  readonly handlers: ServiceHandlers<D>;
  /** The scope each method needs: admin methods name the area's `.admin` scope. */
  readonly scopes: { readonly [K in keyof D['methods']]: Scope };
}

/** Lets an area hand over a registration while keeping its precise types at the call site. */
export function defineService<D extends ServiceDefinition>(
  registration: ServiceRegistration<D>,
): ServiceRegistration {
  return registration as unknown as ServiceRegistration;
}

/** A check run before every handler (e.g. an operator kill switch); throws to refuse. */
export type Guard = (method: string, app: App) => Promise<void> | void;

export interface RpcDeps {
  readonly apps: AppStore;
  readonly logger: Logger;
  readonly guards?: readonly Guard[];
  /** Per-RPC counters and latency, and business counters from successful answers. */
  readonly metrics?: Metrics;
  /** A span per RPC (tracing.ts); undefined when tracing is off. */
  readonly tracing?: Tracing;
}

/** RpcDeps plus the logger of the one line per RPC (see accessLogger), built once per server. */
export interface HandlerDeps extends RpcDeps {
  readonly access: Logger;
}

const STATUS_OF: Record<ErrorKind, grpc.status> = {
  INVALID_ARGUMENT: grpc.status.INVALID_ARGUMENT,
  UNAUTHENTICATED: grpc.status.UNAUTHENTICATED,
  PERMISSION_DENIED: grpc.status.PERMISSION_DENIED,
  NOT_FOUND: grpc.status.NOT_FOUND,
  ALREADY_EXISTS: grpc.status.ALREADY_EXISTS,
  FAILED_PRECONDITION: grpc.status.FAILED_PRECONDITION,
  ABORTED: grpc.status.ABORTED,
  RESOURCE_EXHAUSTED: grpc.status.RESOURCE_EXHAUSTED,
  UNAVAILABLE: grpc.status.UNAVAILABLE,
  DEADLINE_EXCEEDED: grpc.status.DEADLINE_EXCEEDED,
  INTERNAL: grpc.status.INTERNAL,
};

const ERROR_INFO_TYPE_URL = 'type.googleapis.com/huodong.common.v1.ErrorInfo';

/** Builds the status sent for an error: code, message and an ErrorInfo detail. */
export function toServiceError(raw: unknown, log: Logger): Partial<grpc.StatusObject> {
  const err = classifyStoreError(raw);
  let domainError: DomainError;
  if (err instanceof DomainError) {
    domainError = err;
    if (err.kind === 'INTERNAL' || err.kind === 'UNAVAILABLE') log.error({ err: raw }, err.message);
  } else {
    log.error({ err: raw }, 'unhandled error');
    domainError = new InternalError();
  }
  const code = STATUS_OF[domainError.kind];
  const metadata: Record<string, string> = { ...domainError.metadata };
  if (domainError.legacyCode !== undefined) metadata.legacy_code = domainError.legacyCode;
  const info = ErrorInfo.encode({
    reason: domainError.reason,
    domain: `huodong.${domainError.area}`,
    metadata,
  }).finish();
  const status = Status.encode({
    code,
    message: domainError.message,
    details: [{ typeUrl: ERROR_INFO_TYPE_URL, value: Buffer.from(info) }],
  }).finish();
  const trailers = new grpc.Metadata();
  trailers.set('grpc-status-details-bin', Buffer.from(status));
  trailers.set('huodong-reason', domainError.reason);
  return { code, details: domainError.message, metadata: trailers };
}

function bearerToken(metadata: grpc.Metadata): string | undefined {
  const [value] = metadata.get('authorization');
  if (typeof value !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(value.trim());
  return match?.[1];
}

/** The response header that echoes the call's request id, given or generated. */
export const REQUEST_ID_HEADER = 'x-request-id';

function requestIdOf(metadata: grpc.Metadata): string {
  const [value] = metadata.get('x-request-id');
  return typeof value === 'string' && /^[\w.:-]{1,128}$/.test(value) ? value : randomUUID();
}

/** A unary call or a server-streaming one: what the middleware reads of either. */
type ServerCall = grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>;

function deadlineOf(call: ServerCall): number {
  const deadline = call.getDeadline();
  return deadline instanceof Date ? deadline.getTime() : deadline;
}

/**
 * The CallContext of one call: a single object per call, whose AbortSignal (a timer and a
 * listener) and child logger are built only when a handler asks for them; most never do.
 */
class RpcCallContext implements CallContext {
  private child: Logger | undefined;
  private controller: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;
  private onCancel: (() => void) | undefined;

  constructor(
    readonly method: string,
    readonly requestId: string,
    readonly app: App,
    private readonly call: ServerCall,
    readonly deadline: number,
    private readonly logger: Logger,
  ) {}

  get onBehalfOf(): string | undefined {
    const [value] = this.call.metadata.get(ON_BEHALF_OF_HEADER);
    return typeof value === 'string' ? value : undefined;
  }

  get log(): Logger {
    return (this.child ??= this.logger.child({ method: this.method, requestId: this.requestId, app: this.app.name }));
  }

  /** Aborted when the caller cancels or its deadline passes. */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      const controller = new AbortController();
      this.controller = controller;
      if (this.call.cancelled) controller.abort(new Error('cancelled'));
      this.onCancel = () => controller.abort(new Error('cancelled'));
      this.call.once('cancelled', this.onCancel);
      if (Number.isFinite(this.deadline)) {
        this.timer = setTimeout(() => controller.abort(new Error('deadline exceeded')), Math.max(0, this.deadline - Date.now()));
      }
    }
    return this.controller.signal;
  }

  dispose(): void {
    clearTimeout(this.timer);
    if (this.onCancel !== undefined) this.call.removeListener('cancelled', this.onCancel);
  }
}

/** A method's middleware settings, resolved once when its service is added. */
interface MethodEdge {
  readonly path: string;
  readonly scope: Scope;
  readonly deps: HandlerDeps;
  readonly guards: readonly Guard[];
  readonly metrics: Metrics;
}

function methodEdge(path: string, scope: Scope, deps: HandlerDeps): MethodEdge {
  return { path, scope, deps, guards: deps.guards ?? [], metrics: deps.metrics ?? disabledMetrics };
}

/**
 * One call through the middleware, unary or streaming alike: its request id (echoed in the
 * response headers) and span; admission (the deadline, the caller's credential, scope and
 * guards) into its CallContext; the status of a failure, logged under the call; and the one
 * finish that disposes the context and writes the metric, the access line and the span's end.
 */
class EdgeCall {
  readonly requestId: string;
  /** Set once the call is admitted. */
  context: RpcCallContext | undefined;
  private readonly started = process.hrtime.bigint();
  private readonly span: RpcSpan | undefined;
  private caller: string | undefined;

  constructor(
    private readonly edge: MethodEdge,
    private readonly call: ServerCall,
  ) {
    this.requestId = requestIdOf(call.metadata);
    this.span = edge.deps.tracing?.startRpc(edge.path, call.metadata, this.requestId);
    const headers = new grpc.Metadata();
    headers.set(REQUEST_ID_HEADER, this.requestId);
    call.sendMetadata(headers);
  }

  /** Admits the call, then runs `body` with its context, inside the call's span. */
  run<T>(body: (context: RpcCallContext) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => body(await this.admit());
    return this.span === undefined ? run() : this.span.run(run);
  }

  private async admit(): Promise<RpcCallContext> {
    const { edge, call } = this;
    const deadline = deadlineOf(call);
    if (call.cancelled || deadline <= Date.now()) {
      throw new DeadlineExceededError();
    }
    const app = await edge.deps.apps.authenticate(bearerToken(call.metadata));
    this.caller = app.name;
    if (!app.scopes.has(edge.scope)) throw new PermissionDeniedError(edge.scope);
    for (const guard of edge.guards) await guard(edge.path, app);
    this.context = new RpcCallContext(edge.path, this.requestId, app, call, deadline, edge.deps.logger);
    return this.context;
  }

  /** Answers a failure: its status (logged under the call) goes to `deliver`, then the call finishes. */
  fail(err: unknown, deliver: (status: Partial<grpc.StatusObject>) => void, messages?: number): void {
    const { path, deps } = this.edge;
    const status = toServiceError(err, this.context?.log ?? deps.logger.child({ method: path, requestId: this.requestId }));
    deliver(status);
    this.finish(status.code ?? grpc.status.UNKNOWN, status.metadata?.get('huodong-reason')[0]?.toString(), messages);
  }

  /** The call has been answered: `messages` is a stream's count of messages sent. */
  finish(code: grpc.status, reason?: string, messages?: number): void {
    const { path, metrics, deps } = this.edge;
    this.context?.dispose();
    const durationMs = Number(process.hrtime.bigint() - this.started) / 1e6;
    const codeName = grpc.status[code];
    metrics.rpc(path, codeName, durationMs / 1000);
    const line = { method: path, requestId: this.requestId, app: this.caller, code: codeName, reason, durationMs };
    deps.access.info(messages === undefined ? line : { ...line, messages }, 'rpc');
    this.span?.end(code, this.caller, reason);
  }
}

function unaryHandler<Req, Res>(
  method: (request: Req, context: CallContext) => Promise<Res>,
  edge: MethodEdge,
): grpc.handleUnaryCall<Req, Res> {
  const { path, metrics, deps } = edge;
  const observe = metrics.enabled ? businessObservers.get(path) : undefined;
  return (call, callback) => {
    const rpc = new EdgeCall(edge, call);
    rpc.run((context) => method(call.request, context)).then(
      (response) => {
        callback(null, response);
        if (observe !== undefined) {
          try {
            observe(call.request, response, metrics);
          } catch (err) {
            deps.logger.warn({ err, method: path }, 'business metrics failed');
          }
        }
        rpc.finish(grpc.status.OK);
      },
      (err: unknown) => rpc.fail(err, (status) => callback(status)),
    );
  };
}

/**
 * Writes one message and resolves once the transport has taken it (the write's callback: HTTP/2
 * flow control holds it while the caller does not read), or once it never will (the caller
 * cancelled, the stream closed or failed, or `signal` aborted). Never rejects.
 */
function send(call: grpc.ServerWritableStream<unknown, unknown>, message: unknown, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (): void => {
      if (settled) return;
      settled = true;
      call.removeListener('cancelled', done);
      call.removeListener('close', done);
      call.removeListener('error', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    call.once('cancelled', done);
    call.once('close', done);
    call.once('error', done);
    signal.addEventListener('abort', done, { once: true });
    if (call.cancelled || call.destroyed || signal.aborted) done();
    else call.write(message, done);
  });
}

/**
 * A server-streaming method behind the same middleware as a unary one (request id, auth, scope,
 * guards, context, error mapping, metrics, one access line carrying the messages sent). The
 * handler's iterable is pulled one message ahead: while a message is being written, the next is
 * prepared (e.g. its database page read); the one after is asked for only once the transport
 * has taken the first (its write callback). So the server holds at most two messages of a
 * stream, a slow caller holds the handler (and its database reads) back, and a cancelled call
 * or a passed deadline stops it, the iterator returned so a generator's `finally` runs.
 */
function serverStreamHandler<Req, Res>(
  method: (request: Req, context: CallContext) => AsyncIterable<Res>,
  edge: MethodEdge,
): grpc.handleServerStreamingCall<Req, Res> {
  return (call) => {
    const rpc = new EdgeCall(edge, call);
    let messages = 0;
    /** Streams the handler's messages; true when they all went out, false when the call ended first. */
    const stream = async (ctx: RpcCallContext): Promise<boolean> => {
      const { signal } = ctx;
      const stopped = (): boolean => signal.aborted || call.cancelled || call.destroyed || call.writableEnded;
      const iterator = method(call.request, ctx)[Symbol.asyncIterator]();
      let exhausted = false;
      let pending: Promise<IteratorResult<Res>> | undefined = iterator.next();
      try {
        for (;;) {
          const next: IteratorResult<Res> = await pending;
          pending = undefined;
          if (next.done === true) {
            exhausted = true;
            return true;
          }
          if (stopped()) return false;
          messages += 1;
          const written = send(call, next.value, signal);
          // The next message is prepared while this one goes out; a failure surfaces when awaited.
          pending = iterator.next();
          void pending.catch(() => undefined);
          await written;
          if (stopped()) return false;
        }
      } finally {
        if (pending !== undefined) exhausted = (await pending.catch(() => undefined))?.done === true;
        // Stops a generator where it stands (its finally runs); nothing more is read.
        if (!exhausted) await iterator.return?.();
      }
    };
    rpc.run(stream).then(
      (complete) => {
        if (complete) {
          call.end();
          rpc.finish(grpc.status.OK, undefined, messages);
        } else if (call.cancelled || call.destroyed || call.writableEnded) {
          // grpc-js ends a call whose deadline passed as cancelled, having sent the status itself
          // (its timer may fire a millisecond before the clock reads the deadline).
          const late = rpc.context !== undefined && Date.now() >= rpc.context.deadline - 10;
          rpc.finish(late ? grpc.status.DEADLINE_EXCEEDED : grpc.status.CANCELLED, late ? 'DEADLINE_EXCEEDED' : 'CANCELLED', messages);
        } else {
          // The deadline passed while streaming: grpc-js ends the call; say why in its status.
          const status = toServiceError(new DeadlineExceededError(), edge.deps.logger);
          call.emit('error', status);
          rpc.finish(grpc.status.DEADLINE_EXCEEDED, 'DEADLINE_EXCEEDED', messages);
        }
      },
      (err: unknown) => {
        if (call.cancelled) {
          // The caller left and the handler then failed (e.g. a query cut short): nobody to tell.
          rpc.finish(grpc.status.CANCELLED, 'CANCELLED', messages);
          return;
        }
        rpc.fail(err, (status) => call.emit('error', status), messages);
      },
    );
  };
}

/** The grpc-js method definition for a ts-proto generic method definition. */
export function grpcMethod<Req, Res>(
  path: string,
  method: { readonly requestType: MessageFns<Req>; readonly responseType: MessageFns<Res> },
  streams: { readonly request: boolean; readonly response: boolean } = { request: false, response: false },
): grpc.MethodDefinition<Req, Res> {
  return {
    path,
    requestStream: streams.request,
    responseStream: streams.response,
    requestSerialize: (value: Req) => Buffer.from(method.requestType.encode(value).finish()),
    requestDeserialize: (bytes: Buffer) => method.requestType.decode(bytes),
    responseSerialize: (value: Res) => Buffer.from(method.responseType.encode(value).finish()),
    responseDeserialize: (bytes: Buffer) => method.responseType.decode(bytes),
  };
}

/** Adds one area's service to the server, with every method behind the middleware. */
export function addService(server: grpc.Server, registration: ServiceRegistration, deps: HandlerDeps): void {
  const { definition } = registration;
  const grpcDefinition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [key, method] of Object.entries(definition.methods)) {
    const path = `/${definition.fullName}/${method.name}`;
    grpcDefinition[key] = grpcMethod(path, method, { request: false, response: method.responseStream });
    const handlers = registration.handlers as Record<string, (r: unknown, c: CallContext) => unknown>;
    const scopes = registration.scopes as Record<string, Scope>;
    const handler = handlers[key];
    const scope = scopes[key];
    if (handler === undefined || scope === undefined) {
      throw new Error(`${definition.fullName}.${method.name} has no handler or scope`);
    }
    const edge = methodEdge(path, scope, deps);
    implementation[key] = method.responseStream
      ? serverStreamHandler(handler as (r: unknown, c: CallContext) => AsyncIterable<unknown>, edge)
      : unaryHandler(handler as (r: unknown, c: CallContext) => Promise<unknown>, edge);
  }
  server.addService(grpcDefinition, implementation);
}
