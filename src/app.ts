/**
 * The composition root: config -> stores -> locks -> services -> servers. Nothing else builds
 * dependencies; everything below receives them.
 */
import { randomBytes } from 'node:crypto';
import { areas as allAreas } from './areas.js';
import { startBridge, type Bridge } from './bridge/server.js';
import type { Area, Worker } from './platform/area.js';
import { AppStore, authMigrations, newToken } from './platform/auth.js';
import { systemClock, type Clock } from './platform/clock.js';
import type { Config } from './platform/config.js';
import { migrate, openDatabase, type Database, type Migration } from './platform/db.js';
import { startHealthMonitor, type HealthMonitor } from './platform/health.js';
import { observeLocks } from './platform/lock-metrics.js';
import { createLocalLocks, createRedlockLocks, type Locks } from './platform/locks.js';
import { createLogger, type Logger } from './platform/logger.js';
import { createMetrics, type Metrics, type PoolStats } from './platform/metrics.js';
import { startOpsServer, type Ops, type OpsServer } from './platform/ops.js';
import { ALL_SCOPES } from './platform/scopes.js';
import { startGrpcServer, type GrpcServer } from './platform/server.js';

export interface App {
  readonly config: Config;
  readonly db: Database;
  readonly locks: Locks;
  readonly apps: AppStore;
  readonly grpc: GrpcServer;
  readonly bridge: Bridge | undefined;
  /** host:port clients should dial. */
  readonly grpcAddress: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly health: HealthMonitor;
  /** The ops server on HUODONG_METRICS_PORT, when set. */
  readonly opsServer: OpsServer | undefined;
  /** The dev app's token when dev mode generated one (printed once at start). */
  readonly devToken: string | undefined;
  stop(): Promise<void>;
}

export interface AppOptions {
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly areas?: readonly Area[];
}

export function allMigrations(areas: readonly Area[] = allAreas): Migration[] {
  return [...authMigrations, ...areas.flatMap((a) => a.migrations)];
}

/** Opens the configured stores and applies migrations; shared by the server and the CLIs. */
export async function openStores(config: Config, areas: readonly Area[] = allAreas, logger?: Logger): Promise<Database> {
  const db = openDatabase({
    mysqlUrl: config.mysqlUrl,
    dataDir: config.dataDir,
    poolMax: config.mysqlPoolMax,
    ...(logger === undefined ? {} : { logger }),
  });
  try {
    await migrate(db, allMigrations(areas));
  } catch (err) {
    await db.knex.destroy();
    throw err;
  }
  return db;
}

export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  const areas = options.areas ?? allAreas;

  const metrics = createMetrics({ enabled: config.metrics });

  const db = await openStores(config, areas, logger);
  metrics.watchPool(() => poolStats(db));
  const redisLocks = config.redisUrls.length > 0 ? createRedlockLocks(config.redisUrls) : undefined;
  const rawLocks = redisLocks ?? createLocalLocks();
  const locks = observeLocks(rawLocks, metrics, { waitMs: config.lockWaitMs });
  const apps = new AppStore(db.knex, clock, config.authCacheTtlMs);

  let devToken: string | undefined;
  if (config.dev) {
    const token = config.devToken ?? newToken();
    await apps.upsert('dev', ALL_SCOPES, token);
    if (config.devToken === undefined) devToken = token;
  }

  const deps = { config, db, locks, clock, logger, metrics };
  const instances = areas.map((area) => area.create(deps));
  const grpc = await startGrpcServer({
    host: config.grpcHost,
    port: config.grpcPort,
    services: instances.flatMap((i) => i.services),
    deps: { apps, logger, metrics, guards: instances.flatMap((i) => i.guards ?? []) },
  });
  const grpcAddress = grpc.address;
  const serviceNames = instances.flatMap((i) => i.services.map((s) => s.definition.fullName));
  const health = await startHealthMonitor({
    db,
    redis: redisLocks?.clients ?? [],
    intervalMs: config.healthIntervalMs,
    timeoutMs: Math.min(2_000, config.healthIntervalMs),
    logger,
    onServingChange(serving) {
      const status = serving ? 'SERVING' : 'NOT_SERVING';
      grpc.health.setStatus('', status);
      for (const name of serviceNames) grpc.health.setStatus(name, status);
    },
  });
  const ops: Ops = { metrics, health };
  const opsServer =
    config.metricsPort === undefined ? undefined : await startOpsServer({ host: config.grpcHost, port: config.metricsPort, ops });
  const workers: Worker[] = [];
  for (const instance of instances) if (instance.start) workers.push(await instance.start());

  // The in-process bridge gets an app of its own, named per instance so several instances
  // never re-key each other's, and removed again at stop.
  let bridgeAppName: string | undefined;
  let bridge: Bridge | undefined;
  if (config.httpPort >= 0) {
    bridgeAppName = `bridge-${randomBytes(6).toString('hex')}`;
    const internalToken = newToken();
    await apps.create(bridgeAppName, ALL_SCOPES, internalToken);
    bridge = await startBridge({ grpcAddress, host: config.grpcHost, port: config.httpPort, areas, logger, internalToken, ops });
  }

  logger.info(
    { grpcPort: grpc.port, httpPort: bridge?.port, metricsPort: opsServer?.port, store: db.dialect, locks: locks.kind, dev: config.dev },
    'huodong started',
  );

  return {
    config,
    db,
    locks,
    apps,
    grpc,
    bridge,
    grpcAddress,
    logger,
    metrics,
    health,
    opsServer,
    devToken,
    async stop() {
      // Not ready from here on; the monitor no longer flips gRPC health back to SERVING.
      await health.stop();
      await bridge?.close();
      await grpc.shutdown(config.shutdownGraceMs);
      if (bridgeAppName !== undefined) await apps.remove(bridgeAppName).catch(() => false);
      await Promise.all(workers.map((w) => w.stop()));
      await opsServer?.close();
      await locks.close();
      await db.knex.destroy();
    },
  };
}

/** What knex's pool (tarn) holds on MySQL; the SQLite pool is one connection and not shown. */
function poolStats(db: Database): PoolStats | undefined {
  if (db.dialect !== 'mysql') return undefined;
  const pool = (db.knex.client as { pool?: TarnPool }).pool;
  if (pool === undefined) return undefined;
  return { used: pool.numUsed(), free: pool.numFree(), pendingAcquires: pool.numPendingAcquires(), max: pool.max };
}

interface TarnPool {
  readonly max: number;
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
}
