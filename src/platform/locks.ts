/**
 * One lock abstraction: Redlock over one or more independent Redis masters, or an in-process
 * keyed mutex for the embedded single-node setup. Locks only reduce contention; the database
 * keeps every invariant on its own, so a lock lost to a pause or an outage is harmless.
 */
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import Redlock, { ExecutionError, ResourceLockedError, type Lock } from 'redlock';
import { LockBusyError, UnavailableError } from './errors.js';
import { lockName } from './lock-metrics.js';
import type { Logger } from './logger.js';
import type { Tracing } from './tracing.js';

export interface LockOptions {
  /** How long the lock lives if its holder dies. */
  readonly ttlMs?: number;
  /** How long to wait for a held lock before giving up with LockBusyError (default: the Locks' own). */
  readonly waitMs?: number;
  /** The error a wait that runs out raises: an area's `errors.lockBusy` (default: the platform's). */
  readonly busy?: () => LockBusyError;
  /**
   * What to do when the lock service is down: 'fail' answers UnavailableError (at once while
   * the breaker is open); 'proceed' runs `fn` without the lock, for callers whose invariants
   * the database guards on its own (every value-moving path), so an outage costs contention,
   * not availability.
   */
  readonly ifUnavailable?: 'fail' | 'proceed';
  /**
   * Renew the lock to `ttlMs` every third of it while fn runs, for work that may outlast the
   * TTL (the points daily job). A renewal that fails (Redis gone, the lock lost to a pause)
   * stops renewing and lets fn carry on: such work must be safe to overlap, as the database
   * keeps it. The in-process lock has no expiry, so there is nothing to renew.
   */
  readonly keepAlive?: boolean;
}

export interface Locks {
  readonly kind: 'redlock' | 'local';
  /** True while the breaker skips a failed Redis (Redlock only). */
  readonly bypassing?: boolean;
  withLock<T>(key: string, fn: () => Promise<T>, options?: LockOptions): Promise<T>;
  close(): Promise<void>;
}

export interface LocksSettings {
  /** The wait of a call that names none (HUODONG_LOCK_WAIT_MS). */
  readonly waitMs?: number;
  readonly logger?: Logger;
  /** Redlock only: a span for each lock's acquire (its queue and Redis) and release. */
  readonly tracing?: Tracing | undefined;
}

export const DEFAULT_LOCK_WAIT_MS = 2_000;
const DEFAULT_TTL_MS = 5_000;
const RETRY_DELAY_MS = 25;
/** A Redis command unanswered this long counts as Redis down (a paused or partitioned node). */
const COMMAND_TIMEOUT_MS = 400;
/** After a Redis failure the breaker skips Redis this long, doubling up to the maximum while it stays down. */
const BREAKER_MIN_MS = 500;
const BREAKER_MAX_MS = 5_000;
/**
 * How long a caller waits for its lock's release. A release that takes longer (Redis dying under
 * it) goes on in the background: the lock expires by its TTL anyway, and the database kept us safe.
 */
const RELEASE_WAIT_MS = 100;
/** At most one Redis error line per client per this period; the rest are counted into the next. */
const ERROR_LOG_EVERY_MS = 10_000;

/**
 * An in-process keyed FIFO queue: `acquire` resolves when every earlier holder of the key has
 * released it, or rejects with LockBusyError at the deadline.
 */
class KeyedQueue {
  // A key is held while it is in the map; its array holds the waiters, first come first served.
  private readonly waiters = new Map<string, Array<() => void>>();

  acquire(key: string, deadline: number, busy: () => Error): Promise<void> {
    const queue = this.waiters.get(key);
    if (queue === undefined) {
      this.waiters.set(key, []);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const wake = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const at = queue.indexOf(wake);
        if (at >= 0) queue.splice(at, 1);
        reject(busy());
      }, Math.max(0, deadline - Date.now()));
      queue.push(wake);
    });
  }

  release(key: string): void {
    const next = this.waiters.get(key)?.shift();
    if (next) next();
    else this.waiters.delete(key);
  }
}

const busyError = (options: LockOptions): (() => LockBusyError) => options.busy ?? (() => new LockBusyError());

/** In-process keyed FIFO mutex with a bounded wait. */
export function createLocalLocks(settings: LocksSettings = {}): Locks {
  const queue = new KeyedQueue();
  const defaultWait = settings.waitMs ?? DEFAULT_LOCK_WAIT_MS;
  return {
    kind: 'local',
    async withLock<T>(key: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
      await queue.acquire(key, Date.now() + (options.waitMs ?? defaultWait), busyError(options));
      try {
        return await fn();
      } finally {
        queue.release(key);
      }
    },
    close: () => Promise.resolve(),
  };
}

export interface RedisLocks extends Locks {
  readonly clients: readonly Redis[];
  /** True while the breaker skips Redis (for tests and health). */
  readonly bypassing: boolean;
}

/**
 * Skips Redis for a back-off after it failed, so an outage costs each call nothing instead of
 * a timeout; while open, a background PING (never a caller) finds out when Redis is back.
 */
class Breaker {
  private openUntil = 0;
  private backoffMs = BREAKER_MIN_MS;
  private probe: NodeJS.Timeout | undefined;
  private opened = false;
  private readonly onTrip = new Set<(err: unknown) => void>();

  constructor(
    private readonly ping: () => Promise<boolean>,
    private readonly logger: Logger | undefined,
  ) {}

  get open(): boolean {
    return this.opened;
  }

  /** Calls `listener` at the next trip; the returned function forgets it. */
  whenTripped(listener: (err: unknown) => void): () => void {
    this.onTrip.add(listener);
    return () => this.onTrip.delete(listener);
  }

  trip(err: unknown): void {
    if (this.opened) return;
    this.opened = true;
    for (const listener of this.onTrip) listener(err);
    this.onTrip.clear();
    this.openUntil = Date.now() + this.backoffMs;
    this.logger?.warn({ err, backoffMs: this.backoffMs }, 'lock service (Redis) failed: locked calls go on without it where the database guards them');
    this.schedule();
  }

  private schedule(): void {
    clearTimeout(this.probe);
    this.probe = setTimeout(() => void this.check(), Math.max(0, this.openUntil - Date.now()));
    this.probe.unref();
  }

  private async check(): Promise<void> {
    if (!this.opened) return;
    if (await this.ping()) {
      this.opened = false;
      this.backoffMs = BREAKER_MIN_MS;
      this.logger?.info('lock service (Redis) is back: locking again');
      return;
    }
    this.backoffMs = Math.min(this.backoffMs * 2, BREAKER_MAX_MS);
    this.openUntil = Date.now() + this.backoffMs;
    this.schedule();
  }

  close(): void {
    clearTimeout(this.probe);
    this.opened = false;
  }
}

export function createRedlockLocks(redisUrls: readonly string[], settings: LocksSettings = {}): RedisLocks {
  const { logger, tracing } = settings;
  const defaultWait = settings.waitMs ?? DEFAULT_LOCK_WAIT_MS;
  const clients = redisUrls.map(
    (url) =>
      new Redis(url, {
        // Commands issued while (re)connecting wait briefly instead of failing at once; after one
        // failed reconnect, or COMMAND_TIMEOUT_MS without an answer, they fail and trip the breaker.
        maxRetriesPerRequest: 1,
        enableAutoPipelining: true,
        connectTimeout: 2_000,
        commandTimeout: COMMAND_TIMEOUT_MS,
        retryStrategy: (times) => Math.min(times * 100, 1_000),
      }),
  );
  // ioredis reports a lost connection as 'error' events, once per reconnect attempt: log them,
  // at most one line per client per period, with how many were left out.
  clients.forEach((client, index) => {
    let last = 0;
    let suppressed = 0;
    client.on('error', (err: Error) => {
      const now = Date.now();
      if (now - last < ERROR_LOG_EVERY_MS) {
        suppressed += 1;
        return;
      }
      logger?.warn({ err, redis: index, suppressed }, 'Redis error');
      last = now;
      suppressed = 0;
    });
  });
  const redlock = new Redlock(clients, {
    driftFactor: 0.01,
    retryCount: 0,
    automaticExtensionThreshold: 500,
  });
  redlock.on('error', () => undefined); // each failure reaches the caller, which trips the breaker
  // Redlock draws each lock's value with randomBytes(16), a system call per lock: about 4% of a
  // locked RPC's server CPU on the development VM (--cpu-prof of Draw). randomUUID draws from
  // Node's buffered CSPRNG pool, as unique and unguessable. Should a redlock release rename the
  // method, this is inert and the lock values come from redlock again (a test watches for that).
  Object.defineProperty(redlock, '_random', { value: () => randomUUID() });

  const quorum = Math.floor(clients.length / 2) + 1;
  const breaker = new Breaker(async () => {
    const answers = await Promise.all(clients.map((c) => c.ping().then(() => true, () => false)));
    return answers.filter(Boolean).length >= quorum;
  }, logger);
  // Once a client was ready, a client that is not is known down: no need to wait for a command to fail.
  const everReady = new Set<Redis>();
  for (const client of clients) client.on('ready', () => everReady.add(client));
  const knownDown = (): boolean => clients.filter((c) => everReady.has(c) && c.status !== 'ready').length > clients.length - quorum;
  // A connection that closes (Redis shut down or crashed) opens the breaker at once, before any
  // caller's command has to time out against it.
  for (const client of clients) {
    client.on('close', () => {
      if (knownDown()) breaker.trip(new Error('Redis connection closed'));
    });
  }
  // One waiter per key polls Redis; the others queue here, in arrival order.
  const queue = new KeyedQueue();

  // Redlock's own attempt has no time limit of its own: a command in flight when Redis dies
  // waits for ioredis's reconnects (seen: 0.6-1 s). Give up on it after COMMAND_TIMEOUT_MS, or
  // at once when the breaker trips meanwhile; a lock it still gets later is released unused.
  const boundedAcquire = (resource: string, ttl: number): Promise<Lock> =>
    new Promise<Lock>((resolve, reject) => {
      let settled = false;
      const finish = (): boolean => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        forget();
        return true;
      };
      const giveUp = (err: unknown): void => {
        if (finish()) reject(err);
      };
      const timer = setTimeout(() => giveUp(new Error(`Redis did not answer within ${COMMAND_TIMEOUT_MS} ms`)), COMMAND_TIMEOUT_MS);
      const forget = breaker.whenTripped((err) => giveUp(err));
      redlock.acquire([resource], ttl).then(
        (lock) => {
          if (finish()) resolve(lock);
          else lock.release().catch(() => undefined);
        },
        (err: unknown) => giveUp(err),
      );
    });

  const acquire = async (resource: string, ttl: number, deadline: number, options: LockOptions): Promise<Lock> => {
    for (;;) {
      if (breaker.open || knownDown()) throw new UnavailableError({ what: 'the lock service' });
      try {
        return await boundedAcquire(resource, ttl);
      } catch (err) {
        if (!(await isContention(err))) {
          breaker.trip(err);
          throw new UnavailableError({ what: 'the lock service', cause: err });
        }
      }
      if (Date.now() + RETRY_DELAY_MS > deadline) throw busyError(options)();
      await sleep(RETRY_DELAY_MS + Math.floor(Math.random() * RETRY_DELAY_MS));
    }
  };

  return {
    kind: 'redlock',
    clients,
    get bypassing() {
      return breaker.open;
    },
    async withLock<T>(key: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
      const ttl = options.ttlMs ?? DEFAULT_TTL_MS;
      const deadline = Date.now() + (options.waitMs ?? defaultWait);
      // Spans name the lock by its key's first segments (as metrics do), never its user id.
      const spanAttributes = tracing === undefined ? undefined : { 'db.system': 'redis', 'huodong.lock': lockName(key) };
      const acquiring = spanAttributes === undefined ? undefined : tracing?.startChild('lock acquire', spanAttributes);
      try {
        await queue.acquire(key, deadline, busyError(options));
      } catch (err) {
        acquiring?.end({ 'huodong.lock.outcome': 'busy' }, 'busy');
        throw err;
      }
      try {
        let lock: Lock;
        try {
          lock = await acquire(`huodong:lock:${key}`, ttl, deadline, options);
          acquiring?.end({ 'huodong.lock.outcome': 'acquired' });
        } catch (err) {
          const proceed = options.ifUnavailable === 'proceed' && err instanceof UnavailableError;
          const outcome = err instanceof UnavailableError ? 'unavailable' : 'busy';
          acquiring?.end({ 'huodong.lock.outcome': proceed ? 'bypassed' : outcome }, outcome);
          if (proceed) return await fn();
          throw err;
        }
        const renewal = options.keepAlive === true ? keepRenewed(lock, ttl) : undefined;
        try {
          return await fn();
        } finally {
          renewal?.stop();
          // A lock that expired or whose Redis vanished needs no release; the DB kept us safe.
          if (!breaker.open && !knownDown()) {
            const releasing = spanAttributes === undefined ? undefined : tracing?.startChild('lock release', spanAttributes);
            const released = (renewal?.current() ?? lock).release().then(
              () => releasing?.end({ 'huodong.lock.outcome': 'released' }),
              async (err: unknown) => {
                const contention = await isContention(err);
                if (!contention) breaker.trip(err);
                releasing?.end({ 'huodong.lock.outcome': contention ? 'lost' : 'failed' }, contention ? 'lost' : 'unavailable');
              },
            );
            await settledWithin(released, RELEASE_WAIT_MS);
          }
        }
      } finally {
        queue.release(key);
      }
    },
    async close() {
      breaker.close();
      await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}

/**
 * Extends the lock every third of its TTL until stopped; the first failed extension ends the
 * renewals (the lock is gone, or soon will be). An extension still in flight at release does no
 * harm: Redlock extends only a key that still holds this lock's value.
 */
function keepRenewed(first: Lock, ttl: number): { stop(): void; current(): Lock } {
  let lock = first;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    timer = setTimeout(() => {
      void lock.extend(ttl).then(
        (extended) => {
          lock = extended;
          if (!stopped) schedule();
        },
        () => undefined,
      );
    }, Math.max(1, Math.floor(ttl / 3)));
    timer.unref();
  };
  schedule();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
    current: () => lock,
  };
}

/** Redlock reports "someone else holds it" and "Redis is down" alike; tell them apart. */
async function isContention(err: unknown): Promise<boolean> {
  if (err instanceof ResourceLockedError) return true;
  if (!(err instanceof ExecutionError)) return false;
  const stats = await Promise.all(err.attempts);
  const against = stats.flatMap((s) => [...s.votesAgainst.values()]);
  return against.length > 0 && against.every((e) => e instanceof ResourceLockedError);
}

/** Waits for `work` at most `ms`; past that, `work` goes on unawaited (it never rejects). */
function settledWithin(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const cap = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  return Promise.race([work, cap]).finally(() => clearTimeout(timer));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
