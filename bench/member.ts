import { randomBytes } from 'node:crypto';
import type { BenchContext, Scenario } from './scenarios.js';

const USERS = 10_000;
const BALANCE = 1_000_000_000; // hundredths per user, far more than a run can spend

/** Seeds USERS funded users (balance and its journal row) straight in SQL. */
async function seedUsers(ctx: BenchContext, prefix: string): Promise<void> {
  for (let start = 0; start < USERS; start += 1000) {
    const ids = Array.from({ length: Math.min(1000, USERS - start) }, (_, k) => `${prefix}-${start + k}`);
    await ctx.pool.query('INSERT INTO member_users (uid, cpoint, score, grade, updated_at) VALUES ?', [ids.map((uid) => [uid, BALANCE, 0, 0, 0])]);
    await ctx.pool.query(
      'INSERT INTO member_journal (uid, amount, score, balance_after, kind, ref, source, operator, note, created_at) VALUES ?',
      [ids.map((uid) => [uid, BALANCE, 0, BALANCE, 'admin_add', `seed-${uid}`, 'bench', 'bench', '', 0])],
    );
  }
}

const RAW_SPEND = 'member limit: raw SQL spend transaction (conditional update + journal insert)';

/**
 * The raw limit runs before the RPC it judges, so the database's cleanup after a run (purge,
 * page flushing) slows huodong's measurement, not the limit's.
 */
export function memberScenarios(ctx: BenchContext): Scenario[] {
  const { member } = ctx.clients;
  const run = randomBytes(4).toString('hex');
  return [
    {
      name: 'member GetCpoint (distinct users)',
      async setup() {
        await seedUsers(ctx, `bget-${run}`);
        return (i) => member.getCpoint({ uid: `bget-${run}-${i % USERS}` });
      },
    },
    {
      name: RAW_SPEND,
      async setup() {
        await seedUsers(ctx, `braw-${run}`);
        return async (i) => {
          const uid = `braw-${run}-${i % USERS}`;
          const conn = await ctx.pool.getConnection();
          try {
            await conn.beginTransaction();
            const [result] = await conn.query('UPDATE member_users SET cpoint = cpoint - 1 WHERE uid = ? AND cpoint >= 1', [uid]);
            if ((result as { affectedRows: number }).affectedRows !== 1) throw new Error('insufficient');
            await conn.query(
              'INSERT INTO member_journal (uid, amount, score, balance_after, kind, ref, source, operator, note, created_at) VALUES (?, -1, 0, 0, ?, ?, ?, ?, ?, 0)',
              [uid, 'consume', `raw-${run}-${i}`, 'bench', '', ''],
            );
            await conn.commit();
          } catch (err) {
            await conn.rollback();
            throw err;
          } finally {
            conn.release();
          }
        };
      },
    },
    {
      name: 'member ConsumeCpoint (distinct users)',
      limit: RAW_SPEND,
      async setup() {
        await seedUsers(ctx, `bspend-${run}`);
        return (i) => member.consumeCpoint({ orderId: `b-${run}-${i}`, uid: `bspend-${run}-${i % USERS}`, cpoint: '0.01' });
      },
    },
  ];
}
