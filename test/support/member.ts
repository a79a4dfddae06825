import type { TestApp } from './app.js';

/** The member tables a call may write; a refused call must leave every count as it was. */
const MEMBER_TABLES = ['member_users', 'member_journal', 'member_orders', 'member_requests', 'member_task_progress', 'member_task_targets'];

/** Row counts of every member table, to prove a refused call (gRPC or bridge) wrote nothing. */
export async function tableCounts(t: TestApp): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of MEMBER_TABLES) {
    const row = (await t.app.db.knex(table).count({ n: '*' }).first()) as { n: number | string } | undefined;
    out[table] = Number(row?.n ?? 0);
  }
  return out;
}
