/**
 * Lock metrics from outside the lock implementation: wraps any Locks (Redlock or in-process)
 * and records how long acquiring took, waits that ran out (busy) and lock-service failures.
 */
import { LockBusyError, UnavailableError } from './errors.js';
import type { LockOptions, Locks } from './locks.js';
import type { Metrics } from './metrics.js';

/** A lock's name in metrics: its key's first two segments (`member:user`, `lottery:draw`). */
export function lockName(key: string): string {
  const first = key.indexOf(':');
  if (first < 0) return key;
  const second = key.indexOf(':', first + 1);
  return second < 0 ? key : key.slice(0, second);
}

/**
 * `defaults.waitMs` (HUODONG_LOCK_WAIT_MS) applies where a call names no wait of its own.
 * With metrics off only that default is added.
 */
export function observeLocks(locks: Locks, metrics: Metrics, defaults: { readonly waitMs: number }): Locks {
  const withDefaults = (options: LockOptions | undefined): LockOptions =>
    options?.waitMs === undefined ? { ...options, waitMs: defaults.waitMs } : options;
  if (!metrics.enabled) {
    return {
      kind: locks.kind,
      get bypassing() {
        return locks.bypassing;
      },
      withLock: (key, fn, options) => locks.withLock(key, fn, withDefaults(options)),
      close: () => locks.close(),
    };
  }
  return {
    kind: locks.kind,
    get bypassing() {
      return locks.bypassing;
    },
    async withLock<T>(key: string, fn: () => Promise<T>, options?: LockOptions): Promise<T> {
      const name = lockName(key);
      const started = performance.now();
      let acquired = false;
      try {
        return await locks.withLock(
          key,
          () => {
            acquired = true;
            metrics.lockAcquired(name, (performance.now() - started) / 1000);
            return fn();
          },
          withDefaults(options),
        );
      } catch (err) {
        if (!acquired) {
          if (err instanceof LockBusyError) metrics.lockBusy(name);
          else if (err instanceof UnavailableError) metrics.lockFailed(name);
        }
        throw err;
      }
    },
    close: () => locks.close(),
  };
}
