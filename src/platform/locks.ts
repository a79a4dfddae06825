/**
 * One lock abstraction: Redlock over one or more independent Redis masters, or an in-process
 * keyed mutex for the embedded single-node setup. Locks only reduce contention; the database
 * keeps every invariant on its own, so a lock lost to a pause or an outage is harmless.
 */
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import Redlock, { ExecutionError, ResourceLockedError, type Lock } from 'redlock';
import { LockBusyError, UnavailableError } from './errors.js';

export interface LockOptions {
  /** How long the lock lives if its holder dies. */
  readonly ttlMs?: number;
  /** How long to wait for a held lock before giving up with LockBusyError. */
  readonly waitMs?: number;
  /** Area and legacy code for the LockBusyError raised on timeout. */
  readonly area?: string;
  readonly legacyCode?: number;
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
  withLock<T>(key: string, fn: () => Promise<T>, options?: LockOptions): Promise<T>;
  close(): Promise<void>;
}

const DEFAULT_TTL_MS = 5_000;
const DEFAULT_WAIT_MS = 2_000;
const RETRY_DELAY_MS = 25;

/** In-process keyed FIFO mutex with a bounded wait. */
export function createLocalLocks(): Locks {
  // A key is held while it is in the map; its array holds the waiters, first come first served.
  const waiters = new Map<string, Array<() => void>>();

  const acquire = (key: string, options: LockOptions): Promise<void> => {
    const queue = waiters.get(key);
    if (queue === undefined) {
      waiters.set(key, []);
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
        reject(new LockBusyError(options.area ?? 'common', options.legacyCode));
      }, options.waitMs ?? DEFAULT_WAIT_MS);
      queue.push(wake);
    });
  };

  const release = (key: string): void => {
    const next = waiters.get(key)?.shift();
    if (next) next();
    else waiters.delete(key);
  };

  return {
    kind: 'local',
    async withLock<T>(key: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
      await acquire(key, options);
      try {
        return await fn();
      } finally {
        release(key);
      }
    },
    close: () => Promise.resolve(),
  };
}

export interface RedisLocks extends Locks {
  readonly clients: readonly Redis[];
}

export function createRedlockLocks(redisUrls: readonly string[]): RedisLocks {
  const clients = redisUrls.map(
    (url) =>
      new Redis(url, {
        // Commands issued while (re)connecting wait briefly instead of failing at once; after one
        // failed reconnect they fail, and the caller gets UNAVAILABLE.
        maxRetriesPerRequest: 1,
        enableAutoPipelining: true,
        connectTimeout: 2_000,
        retryStrategy: (times) => Math.min(times * 100, 1_000),
      }),
  );
  for (const client of clients) client.on('error', () => undefined); // reported per call instead
  const redlock = new Redlock(clients, {
    driftFactor: 0.01,
    retryCount: 0,
    automaticExtensionThreshold: 500,
  });
  redlock.on('error', () => undefined);
  // Redlock draws each lock's value with randomBytes(16), a system call per lock: about 4% of a
  // locked RPC's server CPU on the development VM (--cpu-prof of Draw). randomUUID draws from
  // Node's buffered CSPRNG pool, as unique and unguessable. Should a redlock release rename the
  // method, this is inert and the lock values come from redlock again (a test watches for that).
  Object.defineProperty(redlock, '_random', { value: () => randomUUID() });

  return {
    kind: 'redlock',
    clients,
    async withLock<T>(key: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
      const ttl = options.ttlMs ?? DEFAULT_TTL_MS;
      const deadline = Date.now() + (options.waitMs ?? DEFAULT_WAIT_MS);
      const resource = `huodong:lock:${key}`;
      for (;;) {
        let lock;
        try {
          lock = await redlock.acquire([resource], ttl);
        } catch (err) {
          if (!(await isContention(err))) throw new UnavailableError('the lock service', err);
          if (Date.now() + RETRY_DELAY_MS > deadline) {
            throw new LockBusyError(options.area ?? 'common', options.legacyCode);
          }
          await sleep(RETRY_DELAY_MS + Math.floor(Math.random() * RETRY_DELAY_MS));
          continue;
        }
        const renewal = options.keepAlive === true ? keepRenewed(lock, ttl) : undefined;
        try {
          return await fn();
        } finally {
          renewal?.stop();
          // A lock that expired or whose Redis vanished needs no release; the DB kept us safe.
          await (renewal?.current() ?? lock).release().catch(() => undefined);
        }
      }
    },
    async close() {
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
