/**
 * Exports that scale: rows are read from the database in keyset pages (`WHERE id > last ORDER
 * BY id LIMIT n`, each page one indexed range read however far the export has gone) and handed
 * on one page at a time, so an export of any size holds one page in memory. The consumer pulls:
 * the next page is read only when it asks for it (the gRPC edge asks once the previous message
 * has been taken by the transport), and none after the signal aborts.
 */

/** Rows per database read and at most per streamed message. */
export const EXPORT_PAGE_ROWS = 500;

/**
 * A streamed message stays under this estimate of its size (the clients' default receive limit
 * is 4 MiB; legacy text columns may hold 64 KiB a row, so 500 rows could exceed it).
 */
export const EXPORT_MESSAGE_BYTES = 1024 * 1024;

export interface KeysetOptions<K> {
  /** Start after this key (the last key of a previous export, or the smallest to start). */
  readonly after: K;
  readonly pageSize?: number;
  /** No page is read once it is aborted. */
  readonly signal?: AbortSignal;
}

/**
 * Reads `fetch(after, limit)` page after page, each starting after the last key of the one
 * before, until a page comes back short. `fetch` must order by the key, ascending, and return
 * only rows whose key is greater than `after`.
 */
export async function* keysetPages<Row, K>(
  fetch: (after: K, limit: number) => Promise<Row[]>,
  keyOf: (row: Row) => K,
  options: KeysetOptions<K>,
): AsyncGenerator<Row[], void, undefined> {
  const limit = options.pageSize ?? EXPORT_PAGE_ROWS;
  let after = options.after;
  for (;;) {
    if (options.signal?.aborted === true) return;
    const rows = await fetch(after, limit);
    const last = rows[rows.length - 1];
    if (last === undefined) return;
    after = keyOf(last);
    yield rows;
    if (rows.length < limit) return;
  }
}

/** A rough upper bound of a row's encoded size: 3 bytes a character of text, 10 per other value. */
export function approximateBytes(row: object): number {
  let bytes = 0;
  for (const value of Object.values(row)) bytes += typeof value === 'string' ? 3 * value.length + 2 : 10;
  return bytes;
}

/** Splits a page into runs whose estimated size stays under `maxBytes` (a row larger alone is alone). */
export function chunkBySize<T>(items: readonly T[], sizeOf: (item: T) => number, maxBytes = EXPORT_MESSAGE_BYTES): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length > 0 && bytes + size > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
