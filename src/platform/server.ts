/**
 * The gRPC server: every area's service behind the middleware, plus grpc.health.v1 and server
 * reflection so grpcurl and buf curl work by hand.
 */
import { isIPv6 } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { accessLogger } from './logger.js';
import { addReflection } from './reflection.js';
import { addService, type RpcDeps, type ServiceRegistration } from './rpc.js';

export const MAX_RECEIVE_BYTES = 4 * 1024 * 1024;

/** host:port as grpc-js reads it: an IPv6 literal goes in brackets. */
export function hostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * The address a client in this process (the REST bridge) dials to reach a server bound to
 * `host`: that host itself, since a server bound to one address answers on no other, or
 * loopback when the server listens on every interface.
 */
export function dialAddress(host: string, port: number): string {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (bare === '' || bare === '0.0.0.0') return hostPort('127.0.0.1', port);
  if (isIPv6(bare) && /^[0:]+$/.test(bare)) return hostPort('::1', port);
  return hostPort(bare, port);
}

export interface GrpcServer {
  readonly server: grpc.Server;
  readonly health: HealthImplementation;
  readonly port: number;
  /** host:port for clients in this process, see dialAddress. */
  readonly address: string;
  /** Health goes NOT_SERVING, in-flight calls drain, then the server closes (by force after graceMs). */
  shutdown(graceMs: number): Promise<void>;
}

export async function startGrpcServer(options: {
  readonly host: string;
  readonly port: number;
  readonly services: readonly ServiceRegistration[];
  readonly deps: RpcDeps;
}): Promise<GrpcServer> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_RECEIVE_BYTES,
    'grpc.keepalive_permit_without_calls': 1,
    // Channelz (per-call counters and timestamps) serves only a channelz service, which we do
    // not expose; it cost a few percent of every call.
    'grpc.enable_channelz': 0,
  });
  const deps = { ...options.deps, access: accessLogger(options.deps.logger) };
  for (const registration of options.services) addService(server, registration, deps);

  const health = new HealthImplementation({ '': 'NOT_SERVING' });
  health.addToServer(server);
  for (const s of options.services) health.setStatus(s.definition.fullName, 'NOT_SERVING');

  addReflection(server, [
    ...options.services.map((s) => s.definition.fullName),
    'grpc.health.v1.Health',
    'grpc.reflection.v1.ServerReflection',
  ]);

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(hostPort(options.host, options.port), grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    );
  });

  const setAll = (status: 'SERVING' | 'NOT_SERVING'): void => {
    health.setStatus('', status);
    for (const s of options.services) health.setStatus(s.definition.fullName, status);
  };
  setAll('SERVING');

  return {
    server,
    health,
    port,
    address: dialAddress(options.host, port),
    async shutdown(graceMs) {
      setAll('NOT_SERVING');
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    },
  };
}
