/**
 * The points daily job on BENCH_JOB_LOTS (200,000) due lots, one per user (each user also
 * holds a lot that never expires), through RunDailyJob on the running server, next to the
 * limit of this database in the same run: one set-based UPDATE zeroing the same rows in an
 * identical copy of the table (same rows, same indexes). The job does more than that UPDATE
 * (a change record and a draw per lot, the accounts), so the ratio says what the chunking and
 * the bookkeeping cost. Afterwards the ledger of those users is checked: balance = journal =
 * unexpired lots.
 */
import type { Pool } from 'mysql2/promise';
import { ensureSeq, table, type Report } from './reports.js';
import type { BenchContext } from './scenarios.js';

const LOTS = Number(process.env.BENCH_JOB_LOTS ?? 200_000);
const PREFIX = 'dj-';

async function one(pool: Pool, sql: string, params: unknown[] = []): Promise<Record<string, unknown>> {
  const [rows] = await pool.query(sql, params);
  return (rows as Array<Record<string, unknown>>)[0] ?? {};
}

async function seed(pool: Pool, now: number): Promise<void> {
  await ensureSeq(pool, LOTS);
  const due = now - 86_400_000;
  await pool.query(`INSERT INTO points_accounts (open_id, balance, updated_at) SELECT CONCAT(?, n), 15, ? FROM bench_seq WHERE n < ?`, [PREFIX, now, LOTS]);
  // The credits: 10 points due yesterday, then 5 that never expire.
  for (const [source, amount, after, expires] of [
    ['task', 10, 10, due],
    ['other', 5, 15, null],
  ] as const) {
    await pool.query(
      `INSERT INTO points_changes (open_id, direction, source, face_value, balance_after, description, change_id, prize_type, task_title, created_at, expires_at)
       SELECT CONCAT(?, n), 1, ?, ?, ?, 'bench-dj', CONCAT('c', n), 'integral', '', ?, ? FROM bench_seq WHERE n < ?`,
      [PREFIX, source, amount, after, now - 2 * 86_400_000, expires, LOTS],
    );
  }
  await pool.query(
    `INSERT INTO points_lots (open_id, source, record_id, granted_at, expires_at, amount, remaining)
     SELECT open_id, source, id, created_at, expires_at, face_value, face_value FROM points_changes WHERE description = 'bench-dj'`,
  );
}

export const dailyJobReport: Report = {
  name: 'Points daily job',
  async run(ctx: BenchContext, settle: () => Promise<void>): Promise<string[]> {
    const now = Date.now();
    await seed(ctx.pool, now);
    const dueNow = Number((await one(ctx.pool, 'SELECT COUNT(*) AS c FROM points_lots WHERE expires_at <= ? AND remaining > 0', [Date.now()])).c);

    // The limit: one UPDATE of the same rows in a copy of the table.
    await ctx.pool.query('DROP TABLE IF EXISTS bench_lots_copy');
    await ctx.pool.query('CREATE TABLE bench_lots_copy LIKE points_lots');
    await ctx.pool.query('INSERT INTO bench_lots_copy SELECT * FROM points_lots');
    await settle();
    const rawStart = process.hrtime.bigint();
    const [updated] = await ctx.pool.query('UPDATE bench_lots_copy SET remaining = 0 WHERE expires_at <= ? AND remaining > 0', [Date.now()]);
    const rawSeconds = Number(process.hrtime.bigint() - rawStart) / 1e9;
    const rawRows = (updated as { affectedRows: number }).affectedRows;
    await ctx.pool.query('DROP TABLE bench_lots_copy');
    await settle();

    const jobStart = process.hrtime.bigint();
    const r = await ctx.clients.points.runDailyJob({}, { deadlineMs: 3_600_000 });
    const jobSeconds = Number(process.hrtime.bigint() - jobStart) / 1e9;
    if (!r.finished || r.running) throw new Error(`the daily job did not finish: ${JSON.stringify(r)}`);

    const like = `${PREFIX}%`;
    const balances = Number((await one(ctx.pool, 'SELECT SUM(balance) AS s FROM points_accounts WHERE open_id LIKE ?', [like])).s);
    const journal = Number(
      (await one(ctx.pool, 'SELECT SUM(CASE WHEN direction = 1 THEN face_value ELSE -face_value END) AS s FROM points_changes WHERE open_id LIKE ?', [like])).s,
    );
    const lots = Number((await one(ctx.pool, 'SELECT SUM(remaining) AS s FROM points_lots WHERE open_id LIKE ?', [like])).s);
    const expected = 5 * LOTS;
    const exact = balances === expected && journal === expected && lots === expected;
    const jobRate = Number(r.expiredLots) / jobSeconds;
    const rawRate = rawRows / rawSeconds;
    return [
      `Points daily job: ${dueNow} due lots (${LOTS} seeded, one per user), chunks of 1,000 lots per transaction`,
      ...table(
        ['run', 'lots', 'seconds', 'lots/s', 'vs raw'],
        [
          ['limit: raw set-based UPDATE of the same rows (copy of points_lots)', String(rawRows), rawSeconds.toFixed(2), rawRate.toFixed(0), ''],
          ['RunDailyJob (records, draws, balances, counts)', String(r.expiredLots), jobSeconds.toFixed(2), jobRate.toFixed(0), `${(rawRate / jobRate).toFixed(2)}x slower`],
        ],
      ),
      `ledger after the job: balances ${balances}, journal ${journal}, unexpired lots ${lots} (expected ${expected}): ${exact ? 'exact' : 'MISMATCH'}`,
    ];
  },
};
