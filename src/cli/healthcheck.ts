/**
 * The container healthcheck (`node dist/cli/healthcheck.js [--live]`): exits 0 when the
 * server on this host is ready (GET /readyz; /healthz with --live). It asks the ops port
 * (HUODONG_METRICS_PORT) when set, else the bridge's port; with neither, gRPC health. So it
 * works with the bridge off.
 */
import * as grpc from '@grpc/grpc-js';
import { HealthCheckRequest, HealthCheckResponse, HealthCheckResponse_ServingStatus } from '../gen/grpc/health/v1/health.js';

const env = process.env;
const live = process.argv.includes('--live');
const host = env.HUODONG_GRPC_HOST?.trim() || '0.0.0.0';
const httpPort = env.HUODONG_METRICS_PORT?.trim() || (env.HUODONG_HTTP_PORT?.trim() === '-1' ? undefined : env.HUODONG_HTTP_PORT?.trim() || '8080');
const TIMEOUT_MS = 2_500;

/** As platform/server.ts's dialAddress, without loading the server's modules every probe. */
function dialAddress(bindHost: string, port: number): string {
  const bare = bindHost.replace(/^\[(.*)\]$/, '$1');
  const target = bare === '' || bare === '0.0.0.0' ? '127.0.0.1' : /^[0:]+$/.test(bare) ? '::1' : bare;
  return target.includes(':') ? `[${target}]:${port}` : `${target}:${port}`;
}

async function viaHttp(port: number): Promise<boolean> {
  const response = await fetch(`http://${dialAddress(host, port)}${live ? '/healthz' : '/readyz'}`, {
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  return response.ok;
}

function viaGrpc(port: number): Promise<boolean> {
  const client = new grpc.Client(dialAddress(host, port), grpc.credentials.createInsecure());
  return new Promise<boolean>((resolve) => {
    client.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      (req: HealthCheckRequest) => Buffer.from(HealthCheckRequest.encode(req).finish()),
      (bytes: Buffer) => HealthCheckResponse.decode(bytes),
      { service: '' },
      { deadline: Date.now() + TIMEOUT_MS },
      (err, response) => {
        client.close();
        resolve(err === null && response?.status === HealthCheckResponse_ServingStatus.SERVING);
      },
    );
  });
}

let ok = false;
try {
  ok = httpPort === undefined ? await viaGrpc(Number(env.HUODONG_GRPC_PORT?.trim() || '50051')) : await viaHttp(Number(httpPort));
} catch {
  ok = false;
}
process.exit(ok ? 0 : 1);
