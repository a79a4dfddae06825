/**
 * The one in-process cache: a map bounded in entries and age, oldest evicted first, whose time
 * comes from the injected Clock (tests move it instead of sleeping). Keys should be small and
 * fixed in size (ids, hashes), so that the entry cap bounds the bytes too.
 */
import type { Clock } from './clock.js';

export interface TtlCacheOptions {
  /** Entries at most; inserting beyond evicts the oldest. */
  readonly max: number;
  /** How long an entry is served after it was set. */
  readonly ttlMs: number;
}

export class TtlCache<K, V> {
  private readonly entries = new Map<K, { readonly value: V; readonly until: number }>();
  /** Loads in flight, so that callers missing the same key at once share one load. */
  private readonly loading = new Map<K, Promise<V>>();
  /** Bumped by delete/clear: a load that began before must not store its (stale) value. */
  private generation = 0;

  constructor(
    private readonly clock: Clock,
    private readonly options: TtlCacheOptions,
  ) {}

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.until <= this.clock.now().getTime()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** The value whatever its age, without evicting it (for log lines, never for decisions). */
  peek(key: K): V | undefined {
    return this.entries.get(key)?.value;
  }

  has(key: K): boolean {
    return this.get(key) !== undefined;
  }

  set(key: K, value: V, ttlMs = this.options.ttlMs): void {
    this.entries.delete(key);
    while (this.entries.size >= this.options.max) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, until: this.clock.now().getTime() + ttlMs });
  }

  /**
   * The cached value, or `load()`'s, stored for the TTL; concurrent misses of one key share a
   * single load. A load that fails stores nothing.
   */
  async getOrLoad(key: K, load: () => Promise<V>): Promise<V> {
    const entry = this.entries.get(key);
    if (entry !== undefined && entry.until > this.clock.now().getTime()) return entry.value;
    const pending = this.loading.get(key);
    if (pending !== undefined) return pending;
    const generation = this.generation;
    const loaded = load().then(
      (value) => {
        if (generation === this.generation) this.set(key, value);
        return value;
      },
    ).finally(() => {
      if (this.loading.get(key) === loaded) this.loading.delete(key);
    });
    this.loading.set(key, loaded);
    return loaded;
  }

  delete(key: K): void {
    this.generation += 1;
    this.entries.delete(key);
    this.loading.delete(key);
  }

  clear(): void {
    this.generation += 1;
    this.entries.clear();
    this.loading.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
