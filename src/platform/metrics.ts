/**
 * Prometheus metrics (prom-client), served as text at GET /metrics (see ops.ts). One registry
 * per app, so several apps in one process (tests) never mix their numbers. With
 * HUODONG_METRICS=0 every recording function is a no-op and /metrics answers 404: the A/B the
 * benchmark runs to price them.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Seconds; from 1 ms (a cached read) to 10 s (a call near its deadline). */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What metrics read from the database pool when /metrics is scraped. */
export interface PoolStats {
  readonly used: number;
  readonly free: number;
  readonly pendingAcquires: number;
  readonly max: number;
}

/** One RPC's counter and histogram children, looked up once per (method, code). */
interface RpcSeries {
  readonly handled: Counter.Internal;
  readonly duration: Histogram.Internal<'service' | 'method'>;
}

export interface Metrics {
  readonly enabled: boolean;
  /** The registry, undefined when metrics are off. */
  readonly registry: Registry | undefined;
  /** One finished RPC: its full path (`/pkg.Service/Method`), status code name and duration. */
  rpc(path: string, code: string, seconds: number): void;
  /** One finished bridge request: the route pattern (not the URL), method, HTTP status. */
  http(route: string, method: string, status: number, seconds: number): void;
  /** A lock was acquired after waiting `seconds`; `name` is its key's first segment. */
  lockAcquired(name: string, seconds: number): void;
  /** A lock was still held by someone else when the wait ran out (LockBusyError). */
  lockBusy(name: string): void;
  /** The lock service failed (Redis down): the call went on without it or failed UNAVAILABLE. */
  lockFailed(name: string): void;
  /** Business counters, each labelled by the operation that moved the value. */
  cpointsMoved(op: string, cpoints: number): void;
  pointsMoved(direction: 'credit' | 'debit' | 'expire', op: string, points: number): void;
  draw(outcome: string): void;
  exchange(): void;
  grant(resultCode: string, products: number): void;
  dailyJob(seconds: number, expiredLots: number, expiredPoints: number, finished: boolean): void;
  /** Reads pool sizes on every scrape (MySQL's knex pool). */
  watchPool(read: () => PoolStats | undefined): void;
  /** The exposition text and its content type. */
  render(): Promise<{ contentType: string; body: string }>;
}

const noop = (): void => undefined;

export const disabledMetrics: Metrics = {
  enabled: false,
  registry: undefined,
  rpc: noop,
  http: noop,
  lockAcquired: noop,
  lockBusy: noop,
  lockFailed: noop,
  cpointsMoved: noop,
  pointsMoved: noop,
  draw: noop,
  exchange: noop,
  grant: noop,
  dailyJob: noop,
  watchPool: noop,
  render: () => Promise.reject(new Error('metrics are off (HUODONG_METRICS=0)')),
};

export function createMetrics(options: { readonly enabled: boolean; readonly processMetrics?: boolean }): Metrics {
  if (!options.enabled) return disabledMetrics;
  const registry = new Registry();
  // Node's own (event loop lag, heap, GC, CPU), prefixed so they sit beside ours.
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'huodong_' });
  const registers = [registry];

  // Every metric of this app registers with its registry alone; a metric without labels has none.
  const counter = <const L extends string = string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> =>
    new Counter({ name, help, labelNames, registers });
  const histogram = <const L extends string = string>(name: string, help: string, buckets: number[], labelNames: readonly L[] = []): Histogram<L> =>
    new Histogram({ name, help, labelNames, buckets, registers });

  const rpcHandled = counter('huodong_rpc_handled_total', 'RPCs answered, by service, method and gRPC status code.', ['service', 'method', 'code']);
  const rpcDuration = histogram(
    'huodong_rpc_duration_seconds',
    'Time from receiving an RPC to answering it, by service and method.',
    LATENCY_BUCKETS,
    ['service', 'method'],
  );
  const httpHandled = counter(
    'huodong_http_requests_total',
    'Bridge requests answered, by route pattern, HTTP method and status.',
    ['route', 'method', 'status'],
  );
  const httpDuration = histogram(
    'huodong_http_request_duration_seconds',
    'Time from receiving a bridge request to answering it, by route pattern.',
    LATENCY_BUCKETS,
    ['route', 'method'],
  );
  const lockWait = histogram(
    'huodong_lock_acquire_seconds',
    'Time to acquire a lock, by lock name (the first segment of its key).',
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    ['lock'],
  );
  const lockBusy = counter(
    'huodong_lock_busy_total',
    'Lock waits that ran out while someone else held the lock (answered ABORTED LOCK_BUSY).',
    ['lock'],
  );
  const lockFailed = counter(
    'huodong_lock_failures_total',
    'Lock acquisitions that failed because the lock service (Redis) did not answer.',
    ['lock'],
  );
  const cpoints = counter(
    'huodong_member_cpoints_moved_total',
    'c-points moved by successful calls, by operation (for monitoring; the journal is exact).',
    ['op'],
  );
  const points = counter('huodong_points_moved_total', 'Points credited, debited or expired, by direction and operation.', ['direction', 'op']);
  const draws = counter('huodong_lottery_draws_total', 'Lottery draws answered, by outcome.', ['outcome']);
  const exchanges = counter('huodong_points_exchanges_total', 'Prizes exchanged for points.');
  const grants = counter(
    'huodong_grant_participations_total',
    'Participate calls answered, by result code (0000 granted, PENDING accepted for the background).',
    ['result_code'],
  );
  const grantedProducts = counter('huodong_grant_products_total', 'Products granted by synchronous Participate calls.');
  const jobDuration = histogram(
    'huodong_points_daily_job_seconds',
    'Duration of daily job runs (scheduled and manual).',
    [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900],
  );
  const jobLots = counter('huodong_points_daily_job_expired_lots_total', 'Point lots expired by the daily job.');
  const jobLast = new Gauge({
    name: 'huodong_points_daily_job_last_finished_seconds',
    help: 'Unix time of the last daily job run that finished its day.',
    registers,
  });

  const pools: Array<() => PoolStats | undefined> = [];
  const poolGauge = (name: string, help: string, pick: (s: PoolStats) => number): void => {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        let total = 0;
        for (const read of pools) {
          const stats = read();
          if (stats !== undefined) total += pick(stats);
        }
        this.set(total);
      },
    });
  };
  poolGauge('huodong_db_pool_connections_in_use', 'Database connections lent out right now.', (s) => s.used);
  poolGauge('huodong_db_pool_connections_idle', 'Open database connections not in use.', (s) => s.free);
  poolGauge('huodong_db_pool_waiting', 'Queries waiting for a database connection.', (s) => s.pendingAcquires);
  poolGauge('huodong_db_pool_max', 'The pool size limit (HUODONG_MYSQL_POOL_MAX).', (s) => s.max);

  // The hot path: one map lookup per RPC instead of prom-client's label hashing twice.
  const rpcSeries = new Map<string, RpcSeries>();
  const seriesOf = (path: string, code: string): RpcSeries => {
    const key = `${path} ${code}`;
    let series = rpcSeries.get(key);
    if (series === undefined) {
      const slash = path.lastIndexOf('/');
      const service = path.slice(1, slash);
      const method = path.slice(slash + 1);
      series = { handled: rpcHandled.labels(service, method, code), duration: rpcDuration.labels(service, method) };
      rpcSeries.set(key, series);
    }
    return series;
  };

  return {
    enabled: true,
    registry,
    rpc(path, code, seconds) {
      const series = seriesOf(path, code);
      series.handled.inc();
      series.duration.observe(seconds);
    },
    http(route, method, status, seconds) {
      httpHandled.labels(route, method, String(status)).inc();
      httpDuration.labels(route, method).observe(seconds);
    },
    lockAcquired: (name, seconds) => lockWait.labels(name).observe(seconds),
    lockBusy: (name) => lockBusy.labels(name).inc(),
    lockFailed: (name) => lockFailed.labels(name).inc(),
    cpointsMoved(op, value) {
      if (Number.isFinite(value) && value > 0) cpoints.labels(op).inc(value);
    },
    pointsMoved(direction, op, value) {
      if (Number.isFinite(value) && value > 0) points.labels(direction, op).inc(value);
    },
    draw: (outcome) => draws.labels(outcome).inc(),
    exchange: () => exchanges.inc(),
    grant(resultCode, products) {
      grants.labels(resultCode).inc();
      if (products > 0) grantedProducts.inc(products);
    },
    dailyJob(seconds, expiredLots, expiredPoints, finished) {
      jobDuration.observe(seconds);
      if (expiredLots > 0) jobLots.inc(expiredLots);
      if (expiredPoints > 0) points.labels('expire', 'DailyJob').inc(expiredPoints);
      if (finished) jobLast.set(Date.now() / 1000);
    },
    watchPool(read) {
      pools.push(read);
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
