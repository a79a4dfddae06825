/**
 * @huodong/clients: promise-based clients for every huodong service over one gRPC channel.
 * Credentials and a default deadline are attached to every call, and failures come back as
 * HuodongError carrying the server's `reason` and `legacyCode`.
 */
import * as grpc from '@grpc/grpc-js';
import { ErrorInfo, Status } from './gen/huodong/common/v1/error.js';
import { UserDataServiceDefinition } from './gen/huodong/userdata/v1/userdata.js';
import { MemberServiceDefinition } from './gen/huodong/member/v1/member.js';
import { PointsCenterServiceDefinition } from './gen/huodong/points/v1/points.js';
import { LotteryServiceDefinition } from './gen/huodong/lottery/v1/lottery.js';
import { ActivityGrantServiceDefinition } from './gen/huodong/grant/v1/grant.js';

export * as userdata from './gen/huodong/userdata/v1/userdata.js';
export * as member from './gen/huodong/member/v1/member.js';
export * as points from './gen/huodong/points/v1/points.js';
export * as lottery from './gen/huodong/lottery/v1/lottery.js';
export * as grant from './gen/huodong/grant/v1/grant.js';
export * as common from './gen/huodong/common/v1/error.js';
export { status as GrpcStatus } from '@grpc/grpc-js';

interface MessageFns<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
  fromPartial(object: never): T;
}

interface MethodDefinition<Req, Res> {
  readonly name: string;
  readonly requestType: MessageFns<Req>;
  readonly responseType: MessageFns<Res>;
}

interface ServiceDefinition {
  readonly fullName: string;
  readonly methods: { readonly [method: string]: MethodDefinition<unknown, unknown> };
}

type PartialOf<F> = F extends { fromPartial(object: infer P): unknown } ? P : never;

/** Options for one call. */
export interface CallOptions {
  /** Overrides the client's default deadline, in milliseconds from now. */
  readonly deadlineMs?: number;
  /** Overrides the client's token, e.g. a bridge forwarding its caller's token. */
  readonly token?: string;
  /** Sent as x-request-id so server logs can be correlated. */
  readonly requestId?: string;
  /**
   * Sent as huodong-on-behalf-of: the legacy principal (e.g. a signed legacy member app) a
   * trusted caller acts for; its orders and request ids then belong to that principal. The
   * server honours it only from an app holding the area's `.admin` scope.
   */
  readonly onBehalfOf?: string;
  readonly signal?: AbortSignal;
}

/** One async function per RPC, taking a partial request (unset fields get proto defaults). */
export type ServiceClient<D extends ServiceDefinition> = {
  readonly [K in keyof D['methods']]: D['methods'][K] extends MethodDefinition<infer Req, infer Res>
    ? (request: PartialOf<D['methods'][K]['requestType']> & Partial<Req>, options?: CallOptions) => Promise<Res>
    : never;
};

/** A failed call: the gRPC status plus the ErrorInfo the server attached. */
export class HuodongError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
    /** Stable UPPER_SNAKE reason, e.g. CAS_CONFLICT; the status name when the server sent none. */
    readonly reason: string,
    /** e.g. huodong.userdata */
    readonly domain: string,
    /** The legacy system's numeric code, where its seed defines one. */
    readonly legacyCode: string | undefined,
    readonly metadata: Readonly<Record<string, string>>,
  ) {
    super(message);
    this.name = 'HuodongError';
  }

  /** The request field a bad input named, if any. */
  get field(): string | undefined {
    return this.metadata.field;
  }
}

export function decodeError(err: grpc.ServiceError): HuodongError {
  const [bin] = err.metadata?.get('grpc-status-details-bin') ?? [];
  if (bin instanceof Buffer) {
    try {
      const status = Status.decode(bin);
      const detail = status.details.find((d) => d.typeUrl.endsWith('/huodong.common.v1.ErrorInfo'));
      if (detail !== undefined) {
        const info = ErrorInfo.decode(detail.value);
        return new HuodongError(err.code, err.details, info.reason, info.domain, info.metadata.legacy_code, info.metadata);
      }
    } catch {
      // fall through: a status without a readable detail
    }
  }
  return new HuodongError(err.code, err.details, grpc.status[err.code] ?? 'UNKNOWN', '', undefined, {});
}

export interface ClientsOptions {
  /** host:port of the huodong gRPC server. */
  readonly address: string;
  /** The app's bearer token. */
  readonly token?: string;
  /** Default deadline for every call; 10 s unless set. */
  readonly deadlineMs?: number;
  readonly credentials?: grpc.ChannelCredentials;
  readonly channelOptions?: grpc.ChannelOptions;
}

export interface Clients {
  readonly userdata: ServiceClient<typeof UserDataServiceDefinition>;
  readonly member: ServiceClient<typeof MemberServiceDefinition>;
  readonly points: ServiceClient<typeof PointsCenterServiceDefinition>;
  readonly lottery: ServiceClient<typeof LotteryServiceDefinition>;
  readonly grant: ServiceClient<typeof ActivityGrantServiceDefinition>;
  close(): void;
}

function bind<D extends ServiceDefinition>(
  client: grpc.Client,
  definition: D,
  defaults: { token: string | undefined; deadlineMs: number },
): ServiceClient<D> {
  const bound: Record<string, (request: never, options?: CallOptions) => Promise<unknown>> = {};
  for (const [key, method] of Object.entries(definition.methods)) {
    const path = `/${definition.fullName}/${method.name}`;
    const serialize = (value: unknown): Buffer => Buffer.from(method.requestType.encode(value).finish());
    const deserialize = (bytes: Buffer): unknown => method.responseType.decode(bytes);
    bound[key] = (request, options = {}) => {
      const metadata = new grpc.Metadata();
      const token = options.token ?? defaults.token;
      if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
      if (options.requestId !== undefined) metadata.set('x-request-id', options.requestId);
      if (options.onBehalfOf !== undefined) metadata.set('huodong-on-behalf-of', options.onBehalfOf);
      const deadline = Date.now() + (options.deadlineMs ?? defaults.deadlineMs);
      const message = method.requestType.fromPartial(request);
      return new Promise((resolve, reject) => {
        const call = client.makeUnaryRequest(path, serialize, deserialize, message, metadata, { deadline }, (err, value) =>
          err ? reject(decodeError(err)) : resolve(value),
        );
        options.signal?.addEventListener('abort', () => call.cancel(), { once: true });
      });
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
  const defaults = { token: options.token, deadlineMs: options.deadlineMs ?? 10_000 };
  return {
    userdata: bind(client, UserDataServiceDefinition, defaults),
    member: bind(client, MemberServiceDefinition, defaults),
    points: bind(client, PointsCenterServiceDefinition, defaults),
    lottery: bind(client, LotteryServiceDefinition, defaults),
    grant: bind(client, ActivityGrantServiceDefinition, defaults),
    close: () => client.close(),
  };
}
