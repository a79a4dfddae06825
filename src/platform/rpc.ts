/**
 * The gRPC edge. Areas describe a service as a ts-proto generic definition plus plain async
 * handlers and the scope each method needs; this module turns that into grpc-js handlers with
 * the cross-cutting concerns applied once: request ids, auth, deadlines, error mapping, logs.
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { BinaryWriter } from '@bufbuild/protobuf/wire';
import { ErrorInfo, Status } from '../gen/huodong/common/v1/error.js';
import type { App, AppStore } from './auth.js';
import { businessObservers } from './business-metrics.js';
import { classifyStoreError } from './db.js';
import { DomainError, PermissionDeniedError, type ErrorKind } from './errors.js';
import type { Logger } from './logger.js';
import { disabledMetrics, type Metrics } from './metrics.js';
import { ON_BEHALF_OF_HEADER } from './owner.js';
import type { Scope } from './scopes.js';
import type { Tracing } from './tracing.js';

interface MessageFns<T> {
  encode(message: T, writer?: BinaryWriter): BinaryWriter;
  decode(input: Uint8Array): T;
}

interface MethodDefinition<Req, Res> {
  readonly name: string;
  readonly requestType: MessageFns<Req>;
  readonly responseType: MessageFns<Res>;
  readonly requestStream: false;
  readonly responseStream: false;
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

export type ServiceHandlers<D extends ServiceDefinition> = {
  readonly [K in keyof D['methods']]: (
    request: RequestOf<D['methods'][K]>,
    context: CallContext,
  ) => Promise<ResponseOf<D['methods'][K]>>;
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
    domainError = new DomainError('INTERNAL', 'INTERNAL', 'common', 'internal error');
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

function deadlineOf(call: grpc.ServerUnaryCall<unknown, unknown>): number {
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
    private readonly call: grpc.ServerUnaryCall<unknown, unknown>,
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

function unaryHandler<Req, Res>(
  path: string,
  method: (request: Req, context: CallContext) => Promise<Res>,
  scope: Scope,
  deps: HandlerDeps,
): grpc.handleUnaryCall<Req, Res> {
  const { access } = deps;
  const guards = deps.guards ?? [];
  const metrics = deps.metrics ?? disabledMetrics;
  const observe = metrics.enabled ? businessObservers.get(path) : undefined;
  const { tracing } = deps;
  return (call, callback) => {
    const started = process.hrtime.bigint();
    const requestId = requestIdOf(call.metadata);
    const span = tracing?.startRpc(path, call.metadata, requestId);
    const headers = new grpc.Metadata();
    headers.set(REQUEST_ID_HEADER, requestId);
    call.sendMetadata(headers);
    let context: RpcCallContext | undefined;
    let caller: string | undefined;
    const finish = (code: grpc.status, reason?: string): void => {
      context?.dispose();
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const codeName = grpc.status[code];
      metrics.rpc(path, codeName, durationMs / 1000);
      access.info({ method: path, requestId, app: caller, code: codeName, reason, durationMs }, 'rpc');
      span?.end(code, caller, reason);
    };
    const run = async (): Promise<Res> => {
      const deadline = deadlineOf(call);
      if (call.cancelled || deadline <= Date.now()) {
        throw new DomainError('DEADLINE_EXCEEDED', 'DEADLINE_EXCEEDED', 'common', 'deadline exceeded');
      }
      const app = await deps.apps.authenticate(bearerToken(call.metadata));
      caller = app.name;
      if (!app.scopes.has(scope)) throw new PermissionDeniedError(scope);
      for (const guard of guards) await guard(path, app);
      context = new RpcCallContext(path, requestId, app, call, deadline, deps.logger);
      return method(call.request, context);
    };
    (span === undefined ? run() : span.run(run)).then(
      (response) => {
        callback(null, response);
        if (observe !== undefined) {
          try {
            observe(call.request, response, metrics);
          } catch (err) {
            deps.logger.warn({ err, method: path }, 'business metrics failed');
          }
        }
        finish(grpc.status.OK);
      },
      (err: unknown) => {
        const status = toServiceError(err, context?.log ?? deps.logger.child({ method: path, requestId }));
        callback(status);
        finish(status.code ?? grpc.status.UNKNOWN, status.metadata?.get('huodong-reason')[0]?.toString());
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
    grpcDefinition[key] = grpcMethod(path, method);
    const handlers = registration.handlers as Record<string, (r: unknown, c: CallContext) => Promise<unknown>>;
    const scopes = registration.scopes as Record<string, Scope>;
    const handler = handlers[key];
    const scope = scopes[key];
    if (handler === undefined || scope === undefined) {
      throw new Error(`${definition.fullName}.${method.name} has no handler or scope`);
    }
    implementation[key] = unaryHandler(path, handler, scope, deps);
  }
  server.addService(grpcDefinition, implementation);
}
