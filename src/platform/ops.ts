/**
 * The operator endpoints: GET /metrics (Prometheus text), /healthz (live: the process answers)
 * and /readyz (ready: the database answers, see health.ts). They are served on the bridge's
 * HTTP port and, when HUODONG_METRICS_PORT is set, on a plain HTTP server of their own, which
 * is there whether or not the bridge is.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { HealthMonitor } from './health.js';
import { disabledMetrics, type Metrics } from './metrics.js';
import { REQUEST_ID_HEADER } from './rpc.js';

export interface Ops {
  readonly metrics: Metrics;
  readonly health: HealthMonitor | undefined;
}

/** The operator paths, on the bridge and on the ops port. */
export const OPS_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

interface OpsAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

const json = (status: number, value: unknown): OpsAnswer => ({
  status,
  contentType: 'application/json; charset=utf-8',
  body: JSON.stringify(value),
});

/** The answer for an ops path, or undefined when the path is not one. */
async function answer(path: string, ops: Ops): Promise<OpsAnswer | undefined> {
  switch (path) {
    case '/healthz':
      return json(200, { status: 'ok' });
    case '/readyz': {
      if (ops.health === undefined) return json(200, { status: 'ok' });
      const report = ops.health.report();
      return json(ops.health.ready() ? 200 : 503, report);
    }
    case '/metrics': {
      if (!ops.metrics.enabled) return json(404, { status: 'metrics are off (HUODONG_METRICS=0)' });
      const { contentType, body } = await ops.metrics.render();
      return { status: 200, contentType, body };
    }
    default:
      return undefined;
  }
}

/**
 * On the bridge: the ops routes, the request id echoed in `x-request-id` on every answer, and
 * a counter and latency histogram per route pattern (not per URL, so ids in paths cannot
 * blow up the series).
 */
export function addOpsRoutes(app: FastifyInstance, given: Ops | undefined): void {
  const ops: Ops = given ?? { metrics: disabledMetrics, health: undefined };
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });
  if (ops.metrics.enabled) {
    const { metrics } = ops;
    app.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url ?? 'unmatched';
      metrics.http(route, request.method, reply.statusCode, reply.elapsedTime / 1000);
      done();
    });
  }
  for (const path of OPS_PATHS) {
    app.get(path, async (_request, reply) => {
      const result = (await answer(path, ops)) as OpsAnswer;
      return reply.code(result.status).type(result.contentType).send(result.body);
    });
  }
}

export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** The ops routes on a port of their own (HUODONG_METRICS_PORT). */
export async function startOpsServer(options: { readonly host: string; readonly port: number; readonly ops: Ops }): Promise<OpsServer> {
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = new URL(req.url ?? '/', 'http://ops').pathname;
    const method = req.method ?? 'GET';
    const done = (result: OpsAnswer | undefined): void => {
      const final = result ?? json(404, { status: 'not found' });
      res.writeHead(method === 'GET' || method === 'HEAD' ? final.status : 405, { 'content-type': final.contentType });
      res.end(method === 'HEAD' ? undefined : final.body);
    };
    answer(path, options.ops).then(done, () => done(json(500, { status: 'internal error' })));
  };
  const server: Server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
