/**
 * A business area is one folder under src/ exporting an Area: its migrations, its gRPC
 * services, optional background work, and its REST bridge routes. app.ts wires every area the
 * same way, so adding an area touches nothing else of substance.
 */
import type { FastifyInstance } from 'fastify';
import type { Clients } from '@huodong/clients';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import type { Database, Migration } from './db.js';
import type { Locks } from './locks.js';
import type { Logger } from './logger.js';
import type { Routine } from './routines.js';
import type { Metrics } from './metrics.js';
import type { Guard, ServiceRegistration } from './rpc.js';

/**
 * The bridge's two ways to call gRPC. `caller` forwards the legacy caller's own Bearer token
 * (pass callOptions(request) on each call). `internal` carries the bridge's own all-scope token,
 * for legacy schemes the bridge has already authenticated itself (signed requests, user
 * cookies); a route using it must do that check before every call.
 */
export interface BridgeClients {
  readonly caller: Clients;
  readonly internal: Clients;
}

/** Everything an area's services may depend on, built once in app.ts. */
export interface AreaDeps {
  readonly config: Config;
  readonly db: Database;
  readonly locks: Locks;
  readonly clock: Clock;
  readonly logger: Logger;
  /** For what the RPC layer cannot see (background jobs); RPC answers are counted there. */
  readonly metrics: Metrics;
}

/** Background work an area runs while the server is up (schedulers, queues). */
export interface Worker {
  stop(): Promise<void>;
}

export interface AreaInstance {
  readonly services: readonly ServiceRegistration[];
  /** Checks run before every RPC of the server, e.g. an operator kill switch. */
  readonly guards?: readonly Guard[];
  start?(): Promise<Worker>;
}

export interface Area {
  readonly name: string;
  readonly migrations: readonly Migration[];
  /** Its MySQL stored routines (`src/<area>/routines.ts`), kept as their files define them. */
  readonly routines?: readonly Routine[];
  create(deps: AreaDeps): AreaInstance;
  /** Legacy REST routes; they call the gRPC server through the generated clients. */
  readonly bridge?: (app: FastifyInstance, clients: BridgeClients, config: Config) => void;
  /**
   * `bearer`: every bridge route of the area forwards the caller's own Bearer app token, so the
   * bridge refuses a request without a well-formed one before reading its body. Areas whose
   * legacy scheme lives in the body or a cookie (signed member requests, lottery) leave it unset.
   */
  readonly bridgeCredential?: 'bearer';
  /**
   * The largest body the area's routes take, in bytes (default: the bridge's 1 MiB). Areas whose
   * credential is in the body must read a body before they can refuse it, so they set a limit
   * near their largest legitimate request: a bigger one is 413 on its Content-Length, unread.
   */
  readonly bridgeBodyLimit?: number;
}
