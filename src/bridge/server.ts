/**
 * The REST bridge for legacy front ends: a fastify server whose routes translate old URLs and
 * envelopes into calls on the gRPC server, through @huodong/clients as any consumer would.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import formbody from '@fastify/formbody';
import { createClients } from '@huodong/clients';
import type { Area, BridgeClients } from '../platform/area.js';
import type { Logger } from '../platform/logger.js';
import { addOpsRoutes, type Ops } from '../platform/ops.js';

export interface Bridge {
  readonly app: FastifyInstance;
  readonly port: number;
  close(): Promise<void>;
}

export const MAX_BODY_BYTES = 1024 * 1024;

export async function startBridge(options: {
  readonly grpcAddress: string;
  readonly host: string;
  readonly port: number;
  readonly areas: readonly Area[];
  readonly logger: Logger;
  /** The bridge's own token, for routes whose legacy scheme it authenticates itself. */
  readonly internalToken: string;
  /** /metrics, /healthz, /readyz, per-route metrics and the x-request-id echo. */
  readonly ops?: Ops;
}): Promise<Bridge> {
  const clients: BridgeClients = {
    caller: createClients({ address: options.grpcAddress }),
    internal: createClients({ address: options.grpcAddress, token: options.internalToken }),
  };
  const loggerInstance: FastifyBaseLogger = options.logger.child({ component: 'bridge' });
  const app = Fastify({
    loggerInstance,
    bodyLimit: MAX_BODY_BYTES,
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    genReqId: (req) => {
      const id = req.headers['x-request-id'];
      return typeof id === 'string' && /^[\w.:-]{1,128}$/.test(id) ? id : crypto.randomUUID();
    },
  });
  await app.register(formbody);
  addOpsRoutes(app, options.ops);
  for (const area of options.areas) area.bridge?.(app, clients);
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
