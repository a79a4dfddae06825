/**
 * The REST bridge for legacy front ends: a fastify server whose routes translate old URLs and
 * envelopes into calls on the gRPC server, through @huodong/clients as any consumer would.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import formbody from '@fastify/formbody';
import { createClients } from '@huodong/clients';
import type { Area, BridgeClients } from '../platform/area.js';
import { loadConfig, type Config } from '../platform/config.js';
import { loggablePath, type Logger } from '../platform/logger.js';
import { addOpsRoutes, OPS_PATHS, type Ops } from '../platform/ops.js';
import type { Tracing } from '../platform/tracing.js';
import { callerOf, parseForm, requireBearer } from './http.js';

export interface Bridge {
  readonly app: FastifyInstance;
  readonly port: number;
  close(): Promise<void>;
}

export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Socket limits, so slow or idle clients cannot hold connections for minutes: the headers must
 * arrive within HEADERS_TIMEOUT_MS and the whole request within REQUEST_TIMEOUT_MS (Node checks
 * both every CHECK_INTERVAL_MS), a socket idle for IDLE_TIMEOUT_MS is closed, keep-alive waits
 * KEEP_ALIVE_TIMEOUT_MS for the next request, and one socket carries at most
 * MAX_REQUESTS_PER_SOCKET requests.
 */
export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 30_000;
export const IDLE_TIMEOUT_MS = 30_000;
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;
export const MAX_REQUESTS_PER_SOCKET = 1_000;
const CHECK_INTERVAL_MS = 2_000;

export async function startBridge(options: {
  readonly grpcAddress: string;
  readonly host: string;
  readonly port: number;
  readonly areas: readonly Area[];
  readonly logger: Logger;
  /** The bridge's own token, for routes whose legacy scheme it authenticates itself. */
  readonly internalToken: string;
  /** Settings the areas' routes read (trust switches, CORS); defaults when absent. */
  readonly config?: Config;
  /** Most simultaneous connections; more are closed as they arrive. */
  readonly maxConnections?: number;
  readonly timeouts?: { readonly headersMs?: number; readonly requestMs?: number; readonly idleMs?: number };
  /** /metrics, /healthz, /readyz, per-route metrics and the x-request-id echo. */
  readonly ops?: Ops;
  /**
   * The name of the app a Bearer token belongs to, when known without a query (AppStore's
   * knownName), for the access line; without it the line names legacy apps only.
   */
  readonly appOf?: (token: string) => string | undefined;
  /** A span per route and per gRPC call it makes; undefined when tracing is off. */
  readonly tracing?: Tracing;
}): Promise<Bridge> {
  const { tracing, appOf } = options;
  // With tracing on, every call carries the active route span's context (traceparent).
  const channelOptions = tracing === undefined ? {} : { channelOptions: { interceptors: [tracing.clientInterceptor] } };
  const clients: BridgeClients = {
    caller: createClients({ address: options.grpcAddress, ...channelOptions }),
    internal: createClients({ address: options.grpcAddress, token: options.internalToken, ...channelOptions }),
  };
  const logger = options.logger.child({ component: 'bridge' });
  const loggerInstance: FastifyBaseLogger = logger;
  const app = Fastify({
    loggerInstance,
    // fastify's own request lines carry the full URL (query-string tokens, awardcode, openids);
    // the onResponse hook below logs the path only.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    bodyLimit: MAX_BODY_BYTES,
    requestTimeout: options.timeouts?.requestMs ?? REQUEST_TIMEOUT_MS,
    connectionTimeout: options.timeouts?.idleMs ?? IDLE_TIMEOUT_MS,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    maxRequestsPerSocket: MAX_REQUESTS_PER_SOCKET,
    http: { headersTimeout: options.timeouts?.headersMs ?? HEADERS_TIMEOUT_MS, connectionsCheckingInterval: CHECK_INTERVAL_MS },
    genReqId: (req) => {
      const id = req.headers['x-request-id'];
      return typeof id === 'string' && /^[\w.:-]{1,128}$/.test(id) ? id : crypto.randomUUID();
    },
  });
  app.server.maxConnections = options.maxConnections ?? 1024;
  await app.register(formbody, { parser: parseForm });
  tracing?.instrumentBridge(app, {
    skip: OPS_PATHS,
    attributesAtEnd(request) {
      const caller = callerOf(request, appOf);
      return { 'huodong.app': caller.app, 'huodong.legacy_app': caller.legacyApp };
    },
  });
  app.addHook('onResponse', async (request, reply) => {
    const caller = callerOf(request, appOf);
    logger.info(
      {
        method: request.method,
        path: loggablePath(request.url),
        requestId: request.id,
        app: caller.app,
        legacyApp: caller.legacyApp,
        status: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 100) / 100,
      },
      'http',
    );
  });
  addOpsRoutes(app, options.ops);
  const config = options.config ?? loadConfig({});
  for (const area of options.areas) {
    const routes = area.bridge;
    if (routes === undefined) continue;
    if (area.bridgeCredential === 'bearer') {
      // An encapsulated scope: the hook runs for this area's routes only, before any body is read.
      await app.register(async (scope) => {
        scope.addHook('onRequest', requireBearer);
        routes(scope, clients, config);
      });
    } else if (area.bridgeBodyLimit !== undefined) {
      const bodyLimit = area.bridgeBodyLimit;
      await app.register(async (scope) => {
        scope.addHook('onRoute', (route) => {
          route.bodyLimit ??= bodyLimit;
        });
        routes(scope, clients, config);
      });
    } else {
      routes(app, clients, config);
    }
  }
  const address = await app.listen({ host: options.host, port: options.port });
  const port = Number(new URL(address).port);
  return {
    app,
    port,
    async close() {
      await app.close();
      clients.caller.close();
      clients.internal.close();
    },
  };
}
