/**
 * @huodong/clients: promise-based clients for every huodong service over one gRPC channel.
 * Credentials and a default deadline are attached to every call, requests are deep-partial
 * (unset fields get proto defaults), failures come back as HuodongError carrying the server's
 * typed `reason` and `legacyCode`, calls honour an AbortSignal, and safe calls can be retried.
 */
import * as grpc from '@grpc/grpc-js';
import { decodeError, HuodongError, statusError } from './errors.js';
import { UserDataServiceDefinition } from './gen/huodong/userdata/v1/userdata.js';
import { MemberServiceDefinition } from './gen/huodong/member/v1/member.js';
import { PointsCenterServiceDefinition } from './gen/huodong/points/v1/points.js';
import { LotteryServiceDefinition } from './gen/huodong/lottery/v1/lottery.js';
import { ActivityGrantServiceDefinition } from './gen/huodong/grant/v1/grant.js';
import { backoffMs, mayRetry, RETRIED_CODES, retrySafety, type RetryOptions } from './retry.js';
import { onAbort } from './signals.js';

export * as userdata from './gen/huodong/userdata/v1/userdata.js';
export * as member from './gen/huodong/member/v1/member.js';
export * as points from './gen/huodong/points/v1/points.js';
export * as lottery from './gen/huodong/lottery/v1/lottery.js';
export * as grant from './gen/huodong/grant/v1/grant.js';
export * as common from './gen/huodong/common/v1/error.js';
// grpc-js is a peer dependency: these are the consumer's own copy, so credentials made with
// them are the ChannelCredentials the channel expects.
export { credentials, Metadata, status as GrpcStatus } from '@grpc/grpc-js';
export type { ChannelCredentials, ChannelOptions } from '@grpc/grpc-js';
export { decodeError, hasReason, HuodongError, type GrpcStatusName, type HuodongReason } from './errors.js';
export * from './reasons.js';
export { RETRIED_CODES, retrySafety, type RetryOptions, type RetrySafety } from './retry.js';

interface MessageFns<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
  fromPartial(object: never): T;
}

interface MethodDefinition<Req, Res> {
  readonly name: string;
  readonly requestType: MessageFns<Req>;
  readonly responseType: MessageFns<Res>;
  readonly responseStream?: boolean;
}

/** A server-streaming RPC (`returns (stream ...)`): one request, a stream of responses. */
interface StreamingMethodDefinition<Req, Res> extends MethodDefinition<Req, Res> {
  readonly responseStream: true;
}

interface ServiceDefinition {
  readonly fullName: string;
  readonly methods: { readonly [method: string]: MethodDefinition<unknown, unknown> };
}

type Builtin = Date | ((...args: never[]) => unknown) | Uint8Array | string | number | boolean | bigint | undefined | null;

/**
 * A message with every field optional at every depth, as ts-proto's fromPartial takes it:
 * what is left out gets its proto default ('' / 0 / false / [] / unset message).
 */
export type DeepPartial<T> = T extends Builtin
  ? T
  : T extends ReadonlyArray<infer U>
    ? ReadonlyArray<DeepPartial<U>>
    : T extends { $case: string; value: unknown }
      ? { $case: T['$case']; value?: DeepPartial<T['value']> }
      : T extends object
        ? { [K in keyof T]?: DeepPartial<T[K]> }
        : Partial<T>;

/** Options for one call. */
export interface CallOptions {
  /** Overrides the client's default deadline, in milliseconds from now (per attempt). */
  readonly deadlineMs?: number;
  /** Overrides the client's token, e.g. a bridge forwarding its caller's token. */
  readonly token?: string;
  /** Sent as x-request-id so server logs can be correlated. */
  readonly requestId?: string;
  /**
   * Cancels the call (and any retry) when aborted; a signal already aborted refuses the call
   * at once. Either way the call rejects with a HuodongError of code CANCELLED whose `cause` is
   * the signal's reason.
   */
  /**
   * Sent as huodong-on-behalf-of: the legacy principal (e.g. a signed legacy member app) a
   * trusted caller acts for; its orders and request ids then belong to that principal. The
   * server honours it only from an app holding the area's `.admin` scope.
   */
  readonly onBehalfOf?: string;
  readonly signal?: AbortSignal;
  /**
   * Retries UNAVAILABLE and DEADLINE_EXCEEDED with the same request (so the same idempotency
   * key) where that is safe: reads, and value-moving calls whose key is set (see
   * `retrySafety`). Overrides the client's `retry`; `false` turns it off for this call.
   */
  readonly retry?: RetryOptions | false;
}

/**
 * Options for a server-streaming call. Streams are never retried (the caller may have used part
 * of the answer; the export RPCs take a cursor to resume from instead), and have no deadline
 * unless `deadlineMs` is given: an export lasts as long as it has rows. Stop one early by
 * leaving the loop (`break`) or with `signal`; either cancels the call on the server.
 */
export type StreamCallOptions = Omit<CallOptions, 'retry'>;

/**
 * One function per RPC, taking a deep-partial request: a unary RPC answers a promise, a
 * server-streaming one an async iterable of its responses (the call starts when iteration does;
 * messages are read as the loop asks for them, so a slow consumer slows the server down).
 */
export type ServiceClient<D extends ServiceDefinition> = {
  readonly [K in keyof D['methods']]: D['methods'][K] extends StreamingMethodDefinition<infer Req, infer Res>
    ? (request: DeepPartial<Req>, options?: StreamCallOptions) => AsyncIterable<Res>
    : D['methods'][K] extends MethodDefinition<infer Req, infer Res>
      ? (request: DeepPartial<Req>, options?: CallOptions) => Promise<Res>
      : never;
};

export interface ClientsOptions {
  /** host:port of the huodong gRPC server. */
  readonly address: string;
  /** The app's bearer token. */
  readonly token?: string;
  /** Default deadline for every call attempt; 10 s unless set. */
  readonly deadlineMs?: number;
  /** Made with this package's `credentials` (the consumer's grpc-js); insecure unless set. */
  readonly credentials?: grpc.ChannelCredentials;
  readonly channelOptions?: grpc.ChannelOptions;
  /** Default retries for the calls where they are safe (see CallOptions.retry); none unless set. */
  readonly retry?: RetryOptions;
}

export interface Clients {
  readonly userdata: ServiceClient<typeof UserDataServiceDefinition>;
  readonly member: ServiceClient<typeof MemberServiceDefinition>;
  readonly points: ServiceClient<typeof PointsCenterServiceDefinition>;
  readonly lottery: ServiceClient<typeof LotteryServiceDefinition>;
  readonly grant: ServiceClient<typeof ActivityGrantServiceDefinition>;
  close(): void;
}

interface Defaults {
  readonly token: string | undefined;
  readonly deadlineMs: number;
  readonly retry: RetryOptions | undefined;
}

function cancelled(reason: unknown): HuodongError {
  return statusError(grpc.status.CANCELLED, 'the call was cancelled by its AbortSignal', reason);
}

/** Waits `ms`, or rejects with a cancelled error as soon as `signal` aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(cancelled(signal.reason));
      return;
    }
    let release = (): void => {};
    const timer = setTimeout(() => {
      release();
      resolve();
    }, ms);
    if (signal !== undefined) {
      release = onAbort(signal, (reason) => {
        clearTimeout(timer);
        reject(cancelled(reason));
      });
    }
  });
}

function callMetadata(options: StreamCallOptions, defaults: Defaults): grpc.Metadata {
  const metadata = new grpc.Metadata();
  const token = options.token ?? defaults.token;
  if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
  if (options.requestId !== undefined) metadata.set('x-request-id', options.requestId);
  if (options.onBehalfOf !== undefined) metadata.set('huodong-on-behalf-of', options.onBehalfOf);
  return metadata;
}

function isServiceError(err: unknown): err is grpc.ServiceError {
  return err instanceof Error && typeof (err as Partial<grpc.ServiceError>).code === 'number' && 'details' in err;
}

/**
 * One server-streaming call, as an async generator: grpc-js reads the next message only when
 * the loop asks for it (HTTP/2 flow control then holds the server back), failures come out as
 * HuodongError, and leaving the loop early or aborting `signal` cancels the call.
 */
async function* serverStream(
  client: grpc.Client,
  path: string,
  serialize: (value: unknown) => Buffer,
  deserialize: (bytes: Buffer) => unknown,
  message: unknown,
  options: StreamCallOptions,
  defaults: Defaults,
): AsyncGenerator<unknown, void, undefined> {
  const { signal } = options;
  if (signal?.aborted === true) throw cancelled(signal.reason);
  const callOptions = options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs };
  const call = client.makeServerStreamRequest(path, serialize, deserialize, message, callMetadata(options, defaults), callOptions);
  let abortReason: { readonly value: unknown } | undefined;
  const release = signal === undefined ? () => {} : onAbort(signal, (reason) => {
    abortReason = { value: reason };
    call.cancel();
  });
  let ended = false;
  try {
    for await (const response of call as AsyncIterable<unknown>) yield response;
    ended = true;
  } catch (err) {
    ended = true;
    if (abortReason !== undefined) throw cancelled(abortReason.value);
    throw isServiceError(err) ? decodeError(err) : err;
  } finally {
    release();
    if (!ended) {
      // The loop left early: the stream is destroyed; its CANCELLED status still arrives as an
      // 'error' event, which must not go unhandled.
      call.on('error', () => {});
      call.cancel();
    }
  }
}

function bind<D extends ServiceDefinition>(client: grpc.Client, definition: D, defaults: Defaults): ServiceClient<D> {
  const bound: Record<string, (request: never, options?: CallOptions) => Promise<unknown> | AsyncIterable<unknown>> = {};
  for (const [key, method] of Object.entries(definition.methods)) {
    const path = `/${definition.fullName}/${method.name}`;
    const serialize = (value: unknown): Buffer => Buffer.from(method.requestType.encode(value).finish());
    const deserialize = (bytes: Buffer): unknown => method.responseType.decode(bytes);
    if (method.responseStream === true) {
      bound[key] = (request, options = {}) => {
        const message = method.requestType.fromPartial(request);
        return { [Symbol.asyncIterator]: () => serverStream(client, path, serialize, deserialize, message, options, defaults) };
      };
      continue;
    }
    const retryable = retrySafety(definition.fullName, key) !== 'never';

    const attempt = (message: unknown, options: CallOptions): Promise<unknown> =>
      new Promise((resolve, reject) => {
        const { signal } = options;
        if (signal?.aborted === true) {
          reject(cancelled(signal.reason));
          return;
        }
        const metadata = callMetadata(options, defaults);
        const deadline = Date.now() + (options.deadlineMs ?? defaults.deadlineMs);
        let release = (): void => {};
        let finished = false;
        let abortReason: { readonly value: unknown } | undefined;
        const call = client.makeUnaryRequest(path, serialize, deserialize, message, metadata, { deadline }, (err, value) => {
          finished = true;
          release();
          if (err === null) resolve(value);
          else if (abortReason !== undefined) reject(cancelled(abortReason.value));
          else reject(decodeError(err));
        });
        // grpc-js answers asynchronously, but a call that ended already must not register.
        if (signal !== undefined && !finished) {
          release = onAbort(signal, (reason) => {
            abortReason = { value: reason };
            call.cancel();
          });
        }
      });

    bound[key] = async (request, options = {}) => {
      const message = method.requestType.fromPartial(request);
      const retry = options.retry ?? defaults.retry;
      const attempts =
        retry === undefined || retry === false || !retryable || !mayRetry(definition.fullName, key, message as Record<string, unknown>)
          ? 1
          : Math.max(1, retry.attempts ?? 3);
      for (let n = 1; ; n++) {
        try {
          return await attempt(message, options);
        } catch (err) {
          if (n >= attempts || !(err instanceof HuodongError) || !RETRIED_CODES.has(err.code) || retry === undefined || retry === false) {
            throw err;
          }
          await sleep(backoffMs(n, retry), options.signal);
        }
      }
    };
  }
  return bound as ServiceClient<D>;
}

/** Creates clients for every huodong service, sharing one channel. Call close() when done. */
export function createClients(options: ClientsOptions): Clients {
  const client = new grpc.Client(options.address, options.credentials ?? grpc.credentials.createInsecure(), {
    // Channelz keeps per-call counters for a channelz service nobody queries here; it costs a
    // few percent of every call. A caller that wants it passes 'grpc.enable_channelz': 1.
    'grpc.enable_channelz': 0,
    ...options.channelOptions,
  });
  const defaults: Defaults = { token: options.token, deadlineMs: options.deadlineMs ?? 10_000, retry: options.retry };
  return {
    userdata: bind(client, UserDataServiceDefinition, defaults),
    member: bind(client, MemberServiceDefinition, defaults),
    points: bind(client, PointsCenterServiceDefinition, defaults),
    lottery: bind(client, LotteryServiceDefinition, defaults),
    grant: bind(client, ActivityGrantServiceDefinition, defaults),
    close: () => client.close(),
  };
}
