/**
 * The composition root: config -> stores -> locks -> services -> servers. Nothing else builds
 * dependencies; everything below receives them.
 */
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
import { createLogger, routeGrpcLogging, type Logger } from './platform/logger.js';
import { createMetrics, type Metrics, type PoolStats } from './platform/metrics.js';
import { startOpsServer, type Ops, type OpsServer } from './platform/ops.js';
import { syncRoutines, verifyRoutines, type Routine, type RoutineDrift } from './platform/routines.js';
import { ALL_SCOPES } from './platform/scopes.js';
import { startGrpcServer, type GrpcServer } from './platform/server.js';
import { startTracing, type Tracing } from './platform/tracing.js';

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
  /** Spans (OpenTelemetry) when an OTLP endpoint is set, else undefined. */
  readonly tracing: Tracing | undefined;
  /** The dev app's token when dev mode generated one (printed once at start). */
  readonly devToken: string | undefined;
  stop(): Promise<void>;
}

export interface AppOptions {
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly areas?: readonly Area[];
  /**
   * Tracing to use instead of the one the config asks for (tests: an in-memory exporter). The
   * caller owns it: app.stop() does not shut it down.
   */
  readonly tracing?: Tracing;
}

export function allMigrations(areas: readonly Area[] = allAreas): Migration[] {
  return [...authMigrations, ...areas.flatMap((a) => a.migrations)];
}

export function allRoutines(areas: readonly Area[] = allAreas): Routine[] {
  return areas.flatMap((a) => a.routines ?? []);
}

export interface StoresOptions {
  readonly logger?: Logger;
  /**
   * What to do with a stored routine that differs from its file once the migrations are
   * applied: `verify` (the server) refuses with RoutineDriftError naming it; `repair`
   * (`npm run migrate`) re-creates it.
   */
  readonly routines?: 'verify' | 'repair';
}

export interface Stores {
  readonly db: Database;
  readonly migrated: readonly string[];
  /** Routines `repair` re-created, with why. */
  readonly recreated: ReadonlyArray<{ name: string; drift: RoutineDrift }>;
}

/** Opens the configured stores, applies migrations and checks the routines; shared by the server and the CLIs. */
export async function openStores(config: Config, areas: readonly Area[] = allAreas, options: StoresOptions = {}): Promise<Database> {
  return (await prepareStores(config, areas, options)).db;
}

export async function prepareStores(config: Config, areas: readonly Area[] = allAreas, options: StoresOptions = {}): Promise<Stores> {
  const db = openDatabase({
    mysqlUrl: config.mysqlUrl,
    dataDir: config.dataDir,
    poolMax: config.mysqlPoolMax,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  try {
    const migrated = await migrate(db, allMigrations(areas));
    let recreated: Stores['recreated'] = [];
    if (db.dialect === 'mysql') {
      // A server never rewrites a routine: one that differs was changed behind its back (by
      // hand, or by a build whose files differ under the same migration names), and an
      // instance of another version re-creating its own would flip it under the others.
      if (options.routines === 'repair') recreated = await syncRoutines(db.knex, allRoutines(areas));
      else await verifyRoutines(db.knex, allRoutines(areas));
    }
    return { db, migrated, recreated };
  } catch (err) {
    await db.knex.destroy();
    throw err;
  }
}

export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  routeGrpcLogging(logger);
  const areas = options.areas ?? allAreas;

  const metrics = createMetrics({ enabled: config.metrics });
  const ownTracing = options.tracing === undefined;
  const tracing =
    options.tracing ?? (await startTracing({ otlpTracesUrl: config.otlpTracesUrl, serviceName: config.serviceName, logger }));

  const db = await openStores(config, areas, { logger });
  tracing?.instrumentKnex(db.knex, db.dialect);
  metrics.watchPool(() => poolStats(db));
  const lockSettings = { waitMs: config.lockWaitMs, logger, tracing };
  const redisLocks = config.redisUrls.length > 0 ? createRedlockLocks(config.redisUrls, lockSettings) : undefined;
  const rawLocks = redisLocks ?? createLocalLocks(lockSettings);
  const locks = observeLocks(rawLocks, metrics, { waitMs: config.lockWaitMs });
  const apps = new AppStore(db.knex, clock, { devMode: config.dev, cacheTtlMs: config.authCacheTtlMs });

  let devToken: string | undefined;
  if (config.dev) {
    const token = config.devToken ?? newToken();
    await apps.upsertDevApp(ALL_SCOPES, token);
    if (config.devToken === undefined) devToken = token;
  } else {
    // A dev-mode run on the same store left its all-scope app behind: it must not work here.
    const removed = await apps.removeDevOnly();
    if (removed.length > 0) {
      logger.warn({ apps: removed }, 'dev mode is off: removed the app(s) dev mode created, their tokens no longer work');
    }
  }
  const leftovers = await apps.removeLeftoverBridgeApps();
  if (leftovers.length > 0) {
    logger.warn({ apps: leftovers }, 'removed all-scope bridge apps left behind by an earlier release');
  }

  const deps = { config, db, locks, clock, logger, metrics };
  const instances = areas.map((area) => area.create(deps));
  const grpc = await startGrpcServer({
    host: config.grpcHost,
    port: config.grpcPort,
    services: instances.flatMap((i) => i.services),
    deps: { apps, logger, metrics, tracing, guards: instances.flatMap((i) => i.guards ?? []) },
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

  // The in-process bridge's own credential lives in this process's memory only: it is never
  // stored, so a crash leaves no all-scope app behind, and no other instance accepts it.
  let bridgeApp: ReturnType<AppStore['createEphemeral']> | undefined;
  let bridge: Bridge | undefined;
  if (config.httpPort >= 0) {
    bridgeApp = apps.createEphemeral('bridge', ALL_SCOPES);
    bridge = await startBridge({
      grpcAddress,
      host: config.grpcHost,
      port: config.httpPort,
      areas,
      logger,
      internalToken: bridgeApp.token,
      maxConnections: config.httpMaxConnections,
      config,
      ops,
      appOf: (token) => apps.knownName(token),
      tracing,
    });
  }

  logger.info(
    {
      grpcPort: grpc.port,
      httpPort: bridge?.port,
      metricsPort: opsServer?.port,
      store: db.dialect,
      locks: locks.kind,
      dev: config.dev,
      tracing: tracing !== undefined,
    },
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
    tracing,
    devToken,
    async stop() {
      // Not ready from here on; the monitor no longer flips gRPC health back to SERVING.
      await health.stop();
      await bridge?.close();
      await grpc.shutdown(config.shutdownGraceMs);
      if (bridgeApp !== undefined) apps.removeEphemeral(bridgeApp.app);
      await Promise.all(workers.map((w) => w.stop()));
      await opsServer?.close();
      await locks.close();
      await db.knex.destroy();
      if (ownTracing) await tracing?.shutdown();
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
