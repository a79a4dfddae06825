/**
 * What health means: the database answers. Every invariant lives there, so without it the
 * instance cannot serve and says so (gRPC health NOT_SERVING, /readyz 503) until it answers
 * again. Redis only keeps contention down, so a Redis that does not answer makes the instance
 * degraded, still serving. The monitor checks on a timer, not per probe, so any number of
 * probes cost the database one `SELECT 1` per interval.
 */
import type { Redis } from 'ioredis';
import type { Database } from './db.js';
import type { Logger } from './logger.js';

export type ComponentState = 'up' | 'down';

export interface HealthReport {
  /** ok: all up; degraded: serving without Redis; down: the database does not answer; stopping: shutting down. */
  readonly status: 'ok' | 'degraded' | 'down' | 'stopping';
  readonly database: ComponentState;
  /** `local` when the locks are in-process (no Redis configured). */
  readonly redis: ComponentState | 'local';
  readonly checkedAt: string;
}

export interface HealthMonitor {
  /** The last check's verdict (no I/O). */
  report(): HealthReport;
  /** Ready to take traffic: the database answered the last check and the instance is not stopping. */
  ready(): boolean;
  /** Checks now, updates the verdict and returns it. */
  check(): Promise<HealthReport>;
  /** Marks the instance stopping (not ready), stops the timer and waits for a check in flight. */
  stop(): Promise<void>;
}

export interface HealthOptions {
  readonly db: Database;
  /** The Redlock masters; empty for in-process locks. */
  readonly redis: readonly Redis[];
  readonly intervalMs: number;
  /** A check slower than this counts as down. */
  readonly timeoutMs: number;
  readonly logger: Logger;
  /** Called when serving (database up, not stopping) changes, and once at start. */
  onServingChange(serving: boolean): void;
}

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

export async function startHealthMonitor(options: HealthOptions): Promise<HealthMonitor> {
  const { db, redis, logger } = options;
  let stopping = false;
  let last: HealthReport = {
    status: 'ok',
    database: 'up',
    redis: redis.length === 0 ? 'local' : 'up',
    checkedAt: new Date().toISOString(),
  };
  let serving: boolean | undefined;
  let inFlight: Promise<HealthReport> | undefined;

  const probe = async (what: string, run: () => Promise<unknown>): Promise<ComponentState> => {
    try {
      await within(run(), options.timeoutMs);
      return 'up';
    } catch (err) {
      logger.debug({ err, component: what }, 'health check failed');
      return 'down';
    }
  };

  const checkOnce = async (): Promise<HealthReport> => {
    const [database, ...masters] = await Promise.all([
      probe('database', () => db.knex.raw('select 1')),
      ...redis.map((client) => probe('redis', () => client.ping())),
    ]);
    // Redlock needs a majority of its masters; fewer is the same as none for locking.
    const redisUp = masters.filter((m) => m === 'up').length;
    const redisState: HealthReport['redis'] = redis.length === 0 ? 'local' : redisUp * 2 > redis.length ? 'up' : 'down';
    const status: HealthReport['status'] = stopping
      ? 'stopping'
      : database === 'down'
        ? 'down'
        : redisState === 'down'
          ? 'degraded'
          : 'ok';
    const next: HealthReport = { status, database: database ?? 'down', redis: redisState, checkedAt: new Date().toISOString() };
    if (next.status !== last.status) {
      const level = next.status === 'ok' ? 'info' : 'warn';
      logger[level]({ health: next.status, database: next.database, redis: next.redis }, `health: ${next.status}`);
    }
    last = next;
    const nowServing = !stopping && next.database === 'up';
    if (!stopping && nowServing !== serving) {
      serving = nowServing;
      options.onServingChange(nowServing);
    }
    return next;
  };

  const check = (): Promise<HealthReport> => (inFlight ??= checkOnce().finally(() => (inFlight = undefined)));

  await check();
  const timer = setInterval(() => {
    if (inFlight === undefined) check().catch((err: unknown) => logger.error({ err }, 'health check failed'));
  }, options.intervalMs);
  timer.unref();

  return {
    report: () => last,
    ready: () => !stopping && last.database === 'up',
    check,
    async stop() {
      stopping = true;
      clearInterval(timer);
      await inFlight?.catch(() => undefined);
      last = { ...last, status: 'stopping' };
    },
  };
}
