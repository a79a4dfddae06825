/**
 * The gRPC server: every area's service behind the middleware, plus grpc.health.v1 and server
 * reflection so grpcurl and buf curl work by hand.
 */
import * as http2 from 'node:http2';
import { isIPv6 } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { accessLogger, type Logger } from './logger.js';
import { addReflection } from './reflection.js';
import { addService, type RpcDeps, type ServiceRegistration } from './rpc.js';

export const MAX_RECEIVE_BYTES = 4 * 1024 * 1024;

/**
 * Connection limits (grpc-js server options). Streams per connection bound what one client can
 * hold open at once; idle connections are closed, and every connection is recycled after an
 * age (with jitter, by grpc-js) so load spreads over new instances, with a grace for the calls
 * still running on it.
 */
export const CONNECTION_LIMITS = {
  'grpc.max_concurrent_streams': 1000,
  'grpc.max_connection_idle_ms': 5 * 60_000,
  'grpc.max_connection_age_ms': 30 * 60_000,
  'grpc.max_connection_age_grace_ms': 30_000,
} as const;

/**
 * nghttp2 (Node's HTTP/2) answers a client that resets streams faster than a token bucket of
 * 1000 allows, refilled at 33 per second (its CVE-2023-44487 "rapid reset" guard), with
 * GOAWAY INTERNAL_ERROR: the client then fails every call on that connection, bystanders
 * included. Node 20 cannot raise that limit (streamResetBurst / streamResetRate came later, and
 * grpc-js forwards neither), so the server counts the resets of each connection on the same
 * bucket and, well before nghttp2 would, closes the connection gracefully (GOAWAY NO_ERROR):
 * calls on it finish, new ones go to a new connection.
 */
export const RESET_GUARD = { burst: 1000, ratePerSecond: 33, rotateAfter: 400, graceMs: 30_000 } as const;

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
  /** Health answers NOT_SERVING while calls are still served: a load balancer stops sending new ones. */
  stopServing(): void;
  /**
   * Health goes NOT_SERVING, Health Watch streams end, in-flight calls drain, then the server
   * closes (by force after graceMs).
   */
  shutdown(graceMs: number): Promise<void>;
}

/** grpc-health-check's service, whose Watch streams can be ended: they would hold a draining server. */
class ClosableHealth extends HealthImplementation {
  private readonly watches = new Set<grpc.ServerWritableStream<unknown, unknown>>();

  override addToServer(server: grpc.Server): void {
    const watches = this.watches;
    const wrapping = {
      addService(service: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation): void {
        const watch = implementation.watch as grpc.handleServerStreamingCall<unknown, unknown>;
        server.addService(service, {
          ...implementation,
          watch(call: grpc.ServerWritableStream<unknown, unknown>) {
            watches.add(call);
            const forget = (): void => {
              watches.delete(call);
            };
            call.once('cancelled', forget);
            call.once('finish', forget);
            watch(call);
          },
        });
      },
    };
    super.addToServer(wrapping as unknown as grpc.Server);
  }

  endWatches(): void {
    for (const call of this.watches) call.end();
    this.watches.clear();
  }
}

/**
 * Watches each connection's stream resets (see RESET_GUARD) and closes it gracefully before
 * nghttp2 would close it with an error. grpc-js keeps its HTTP/2 servers private; should a
 * release rename the field, this returns false and the caller logs it (a test watches for it).
 */
function guardStreamResets(server: grpc.Server, logger: Logger): boolean {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map)) return false;
  for (const http2Server of servers.keys() as IterableIterator<unknown>) {
    if (typeof (http2Server as { on?: unknown }).on !== 'function') return false;
    (http2Server as http2.Http2Server).on('session', (session: http2.ServerHttp2Session) => {
      let tokens: number = RESET_GUARD.burst;
      let at = Date.now();
      let rotated = false;
      session.on('stream', (stream: http2.ServerHttp2Stream) => {
        stream.once('close', () => {
          if (rotated || stream.rstCode === undefined || stream.rstCode === http2.constants.NGHTTP2_NO_ERROR) return;
          const now = Date.now();
          tokens = Math.min(RESET_GUARD.burst, tokens + ((now - at) / 1000) * RESET_GUARD.ratePerSecond) - 1;
          at = now;
          if (tokens > RESET_GUARD.burst - RESET_GUARD.rotateAfter) return;
          rotated = true;
          logger.warn({ remote: session.socket?.remoteAddress }, 'connection resets many streams: closing it gracefully before HTTP/2 would close it with an error');
          try {
            session.goaway(http2.constants.NGHTTP2_NO_ERROR, 2 ** 31 - 1);
            session.close();
          } catch {
            session.destroy();
            return;
          }
          setTimeout(() => session.destroy(), RESET_GUARD.graceMs).unref();
        });
      });
    });
  }
  return true;
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
    ...CONNECTION_LIMITS,
  });
  const deps = { ...options.deps, access: accessLogger(options.deps.logger) };
  for (const registration of options.services) addService(server, registration, deps);

  const health = new ClosableHealth({ '': 'NOT_SERVING' });
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

  if (!guardStreamResets(server, options.deps.logger)) {
    options.deps.logger.warn('grpc-js internals changed: connections are not guarded against stream-reset bursts');
  }

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
    stopServing() {
      setAll('NOT_SERVING');
    },
    async shutdown(graceMs) {
      setAll('NOT_SERVING');
      health.endWatches();
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
