/**
 * Helpers for the export suites: bulk rows straight into the tables (multi-row INSERTs in one
 * transaction, on both stores), a heap probe, counting the queries a test app runs, and a CSV
 * reader.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Knex } from 'knex';

type Cell = string | number | null;

/**
 * Inserts `count` rows made by `row(i)` (i from 0), `perStatement` rows per INSERT ... VALUES
 * (...), (...) (knex's multi-row insert on SQLite is a UNION of SELECTs, capped at 500 terms),
 * all in one transaction; rows are made a statement at a time, never all at once.
 */
export async function bulkInsert(
  knex: Knex,
  table: string,
  count: number,
  row: (i: number) => Record<string, Cell>,
  perStatement = 1000,
): Promise<void> {
  if (count === 0) return;
  const columns = Object.keys(row(0));
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  await knex.transaction(async (trx) => {
    for (let from = 0; from < count; from += perStatement) {
      const n = Math.min(perStatement, count - from);
      const bindings: Cell[] = [];
      for (let i = from; i < from + n; i++) {
        const r = row(i);
        for (const c of columns) bindings.push(r[c] ?? null);
      }
      const sql = `INSERT INTO ?? (${columns.map(() => '??').join(', ')}) VALUES ${Array(n).fill(tuple).join(', ')}`;
      await trx.raw(sql, [table, ...columns, ...bindings]);
    }
  });
}

/** A full garbage collection: global.gc when node runs with --expose-gc, else enabled here. */
export function collectGarbage(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing !== undefined) return existing;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** The heap in use after a full collection. */
export function heapAfterGc(gc: () => void): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Counts the queries whose SQL passes `match`, from now until `stop()`. */
export function countQueries(knex: Knex, match: (sql: string) => boolean): { readonly count: () => number; stop(): void } {
  let n = 0;
  const listener = (q: { sql?: string }): void => {
    if (typeof q.sql === 'string' && match(q.sql)) n += 1;
  };
  knex.on('query', listener);
  return { count: () => n, stop: () => void knex.removeListener('query', listener) };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Parses RFC 4180 CSV (quoted cells with doubled quotes, CRLF or LF line ends) into records. */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(cell);
      cell = '';
    } else if (c === '\n' || (c === '\r' && text[i + 1] === '\n')) {
      if (c === '\r') i++;
      record.push(cell);
      records.push(record);
      record = [];
      cell = '';
    } else cell += c;
  }
  if (cell !== '' || record.length > 0) {
    record.push(cell);
    records.push(record);
  }
  return records;
}

export interface HeapProfile {
  readonly pages: number;
  /** Largest heap growth (after a full collection) seen while streaming, every 10 pages. */
  readonly peak: number;
  /** Largest of those within the first `earlyPages` pages. */
  readonly early: number;
}

/**
 * Streams `pages`, passing each to `visit` (which must not keep it), and samples the heap growth
 * over the heap before the call every 10 pages, after a full collection.
 */
export async function streamHeapProfile<P>(pages: AsyncIterable<P>, visit: (page: P) => void, earlyPages = 40): Promise<HeapProfile> {
  const gc = collectGarbage();
  const base = heapAfterGc(gc);
  let n = 0;
  let peak = 0;
  let early = 0;
  for await (const page of pages) {
    n += 1;
    visit(page);
    if (n % 10 === 0) {
      const growth = heapAfterGc(gc) - base;
      peak = Math.max(peak, growth);
      if (n <= earlyPages) early = Math.max(early, growth);
    }
  }
  return { pages: n, peak: Math.max(peak, heapAfterGc(gc) - base), early };
}

/** The heap growth of holding every page of `pages` at once: what loading the export in memory costs. */
export async function heldHeap<P>(pages: AsyncIterable<P>): Promise<number> {
  const gc = collectGarbage();
  const base = heapAfterGc(gc);
  const held: P[] = [];
  for await (const page of pages) held.push(page);
  const growth = heapAfterGc(gc) - base;
  held.length = 0;
  return growth;
}

export const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
