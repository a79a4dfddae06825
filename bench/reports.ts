/**
 * One-shot measurements that are not a request rate: batch work (the points daily job against
 * raw SQL on the same rows) and how read latencies grow with the data (N -> p50/p99). Each
 * report prepares its data, measures and returns the lines it prints after the RPC table.
 * Adding one means adding its file and one line here.
 */
import type { Pool } from 'mysql2/promise';
import { dailyJobReport } from './dailyjob.js';
import { growthReport } from './growth.js';
import type { BenchContext } from './scenarios.js';

export interface Report {
  readonly name: string;
  /** `settle` waits until InnoDB has purged what came before (see run.ts). */
  run(ctx: BenchContext, settle: () => Promise<void>): Promise<string[]>;
}

export const reports: ReadonlyArray<Report> = [dailyJobReport, growthReport];

/** A table 0..n-1 of integers (`bench_seq`), grown as needed, for set-based seeding. */
export async function ensureSeq(pool: Pool, n: number): Promise<void> {
  await pool.query('CREATE TABLE IF NOT EXISTS bench_digits (d INT PRIMARY KEY)');
  await pool.query('INSERT IGNORE INTO bench_digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)');
  await pool.query('CREATE TABLE IF NOT EXISTS bench_seq (n INT PRIMARY KEY)');
  const [rows] = await pool.query('SELECT COUNT(*) AS c FROM bench_seq');
  if (Number((rows as Array<{ c: unknown }>)[0]?.c ?? 0) >= n) return;
  await pool.query('TRUNCATE bench_seq');
  await pool.query(
    `INSERT INTO bench_seq (n)
     SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d + 100000 * g.d + 1000000 * h.d
     FROM bench_digits a, bench_digits b, bench_digits c, bench_digits e, bench_digits f, bench_digits g, bench_digits h
     WHERE a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d + 100000 * g.d + 1000000 * h.d < ?`,
    [n],
  );
}

/** Prints rows as an aligned table. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}
