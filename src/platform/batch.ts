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
 * A batch's rows grouped under the key each caller asked for, in row order; keys with no row
 * are absent. MySQL compares such keys (uids, open ids, labels) case-insensitively, so with
 * `caseInsensitive` a row stored under another case answers the key asked for, as a single-row
 * query would have; a row under the exact key is preferred.
 */
export function groupAsAsked<R>(asked: Iterable<string>, rows: Iterable<R>, keyOfRow: (row: R) => string, caseInsensitive: boolean): Map<string, R[]> {
  const exact = new Map<string, R[]>();
  const folded = new Map<string, R[]>();
  const add = (groups: Map<string, R[]>, key: string, row: R): void => {
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [row]);
    else group.push(row);
  };
  for (const row of rows) {
    const key = keyOfRow(row);
    add(exact, key, row);
    if (caseInsensitive) add(folded, key.toLowerCase(), row);
  }
  const found = new Map<string, R[]>();
  for (const key of asked) {
    const group = exact.get(key) ?? (caseInsensitive ? folded.get(key.toLowerCase()) : undefined);
    if (group !== undefined) found.set(key, group);
  }
  return found;
}

/** groupAsAsked for keys that name one row each (a primary or unique key): that row per key. */
export function firstAsAsked<R>(asked: Iterable<string>, rows: Iterable<R>, keyOfRow: (row: R) => string, caseInsensitive: boolean): Map<string, R> {
  const found = new Map<string, R>();
  for (const [key, [row]] of groupAsAsked(asked, rows, keyOfRow, caseInsensitive)) if (row !== undefined) found.set(key, row);
  return found;
}
