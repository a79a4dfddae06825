/**
 * A stand-in huodong: a real grpc-js server on 127.0.0.1:0 serving one service with handlers
 * written by the test, and real clients dialling it. No store, so the client's own behaviour
 * (partial requests, signals, retries, errors) is what is under test.
 */
import * as grpc from '@grpc/grpc-js';
import { createClients, type Clients, type ClientsOptions } from '@huodong/clients';
import { createLogger } from '../../../src/platform/logger.js';
import { toServiceError } from '../../../src/platform/rpc.js';

interface MessageFns {
  encode(message: never): { finish(): Uint8Array };
  decode(input: Uint8Array): unknown;
}
interface Definition {
  readonly fullName: string;
  readonly methods: {
    readonly [method: string]: { readonly name: string; readonly requestType: MessageFns; readonly responseType: MessageFns };
  };
}
type RequestOf<M> = M extends { requestType: { decode(input: Uint8Array): infer Req } } ? Req : never;
type ResponseOf<M> = M extends { responseType: { decode(input: Uint8Array): infer Res } } ? Res : never;

/** A handler answers, or throws: a DomainError becomes its real status, `{ code }` a bare one. */
export type Handlers<D extends Definition> = {
  readonly [K in keyof D['methods']]?: (request: RequestOf<D['methods'][K]>) => Promise<ResponseOf<D['methods'][K]>>;
};

/** A bare status without ErrorInfo, e.g. what a proxy in front of a down server answers. */
export class BareStatus extends Error {
  constructor(readonly code: grpc.status) {
    super(grpc.status[code]);
  }
}

export interface StandIn {
  readonly clients: Clients;
  readonly address: string;
  /** More clients on the same server (e.g. with other defaults). */
  clientsWith(options: Omit<ClientsOptions, 'address'>): Clients;
  stop(): Promise<void>;
}

const silent = createLogger('silent');

export async function startStandIn<D extends Definition>(definition: D, handlers: Handlers<D>): Promise<StandIn> {
  const server = new grpc.Server();
  const methods: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [key, method] of Object.entries(definition.methods)) {
    const encode = (type: MessageFns, value: unknown): Buffer => Buffer.from(type.encode(value as never).finish());
    methods[key] = {
      path: `/${definition.fullName}/${method.name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: (value: unknown) => encode(method.requestType, value),
      requestDeserialize: (bytes: Buffer) => method.requestType.decode(bytes),
      responseSerialize: (value: unknown) => encode(method.responseType, value),
      responseDeserialize: (bytes: Buffer) => method.responseType.decode(bytes),
    };
    const handler = (handlers as Record<string, ((request: unknown) => Promise<unknown>) | undefined>)[key];
    implementation[key] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      if (handler === undefined) {
        callback({ code: grpc.status.UNIMPLEMENTED });
        return;
      }
      handler(call.request).then(
        (response) => callback(null, response),
        (err: unknown) =>
          callback(err instanceof BareStatus ? { code: err.code, details: err.message } : toServiceError(err, silent)),
      );
    };
  }
  server.addService(methods, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  const address = `127.0.0.1:${port}`;
  const opened: Clients[] = [];
  const clientsWith = (options: Omit<ClientsOptions, 'address'>): Clients => {
    const clients = createClients({ address, ...options });
    opened.push(clients);
    return clients;
  };
  return {
    clients: clientsWith({ token: 'stand-in' }),
    address,
    clientsWith,
    async stop() {
      for (const clients of opened) clients.close();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    },
  };
}
