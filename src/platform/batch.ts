/**
 * Coalesces point reads that arrive in the same tick into one query (the DataLoader pattern).
 * Under load this turns N round trips into one without changing what a caller can observe:
 * each read is issued after its request arrived, so it sees every write completed before it.
 */
export type BatchLoad<K, V> = (keys: readonly K[]) => Promise<ReadonlyMap<string, V>>;

export interface BatchOptions<K> {
  /** A string identity for a key; equal keys in one batch are loaded once. */
  readonly keyOf: (key: K) => string;
  readonly maxBatch?: number;
}

export function createBatcher<K, V>(load: BatchLoad<K, V>, options: BatchOptions<K>): (key: K) => Promise<V | undefined> {
  const maxBatch = options.maxBatch ?? 200;
  let pending = new Map<string, { key: K; waiters: Array<{ resolve(v: V | undefined): void; reject(e: unknown): void }> }>();
  let scheduled = false;

  const flush = (): void => {
    scheduled = false;
    const batch = pending;
    pending = new Map();
    const entries = [...batch.entries()];
    for (let start = 0; start < entries.length; start += maxBatch) {
      const chunk = entries.slice(start, start + maxBatch);
      load(chunk.map(([, e]) => e.key)).then(
        (found) => {
          for (const [id, e] of chunk) for (const w of e.waiters) w.resolve(found.get(id));
        },
        (err: unknown) => {
          for (const [, e] of chunk) for (const w of e.waiters) w.reject(err);
        },
      );
    }
  };

  return (key) =>
    new Promise<V | undefined>((resolve, reject) => {
      const id = options.keyOf(key);
      const entry = pending.get(id);
      if (entry !== undefined) entry.waiters.push({ resolve, reject });
      else pending.set(id, { key, waiters: [{ resolve, reject }] });
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });
}

/**
 * A batch's rows grouped by key, in row order. Keys compare exactly on both stores (MySQL tables
 * of the areas that batch are utf8mb4_bin: see exactTextMigration), so a row answers exactly the
 * key it holds, as its single-row query would.
 */
export function groupByKey<R>(rows: Iterable<R>, keyOfRow: (row: R) => string): Map<string, R[]> {
  const groups = new Map<string, R[]>();
  for (const row of rows) {
    const key = keyOfRow(row);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [row]);
    else group.push(row);
  }
  return groups;
}

/** groupByKey for keys that name one row each (a primary or unique key): that row per key. */
export function firstByKey<R>(rows: Iterable<R>, keyOfRow: (row: R) => string): Map<string, R> {
  const found = new Map<string, R>();
  for (const row of rows) {
    const key = keyOfRow(row);
    if (!found.has(key)) found.set(key, row);
  }
  return found;
}
