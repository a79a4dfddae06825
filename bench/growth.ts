/**
 * Read latencies against the size of the history: every listed read at N rows of its tables
 * (BENCH_GROWTH_SIZES, default 10,000 / 100,000 / 1,000,000, the sizes of issue 19.2). Other
 * users' rows are seeded set-based (INSERT ... SELECT from a sequence table) around one
 * measured user, who holds 1,000 points lots and records, 100 orders, 100 entitlements and 5
 * prizes, in one lottery activity with N persons and N/10 winners: seeding up to 1,000,000
 * took 50 s on the shared 2-core machine (4 minutes when it was saturated), so the default
 * stays at 1,000,000. Each read is measured at a low concurrency (BENCH_GROWTH_CONCURRENCY, 4)
 * for BENCH_GROWTH_MS (1500), and printed as N -> p50 / p99: flat columns mean the cost does
 * not grow with the history. ListUsersSorted's deep page (offset N/2) is measured both by page
 * number and by page_token; a primary-key read is the noise floor of each column.
 */
import { lottery as lpb, member as mpb, points as ppb } from '@huodong/clients';
import type { Pool } from 'mysql2/promise';
import { runLoad } from './lib.js';
import { ensureSeq, table, type Report } from './reports.js';
import type { BenchContext } from './scenarios.js';

const SIZES = (process.env.BENCH_GROWTH_SIZES ?? '10000,100000,1000000').split(',').map(Number);
const LOAD = { concurrency: Number(process.env.BENCH_GROWTH_CONCURRENCY ?? 4), durationMs: Number(process.env.BENCH_GROWTH_MS ?? 1500), warmupMs: 300 };
const ME = 'g-me';

async function count(pool: Pool, sql: string): Promise<number> {
  const [rows] = await pool.query(sql);
  return Number((rows as Array<{ c: unknown }>)[0]?.c ?? 0);
}

/** Seeds the measured user's own rows (once). */
async function seedMine(pool: Pool, aid: number, pid: number, now: number): Promise<void> {
  const sec = Math.floor(now / 1000);
  await pool.query('INSERT INTO points_accounts (open_id, balance, updated_at) VALUES (?, 1000, ?)', [ME, now]);
  await pool.query(
    `INSERT INTO points_changes (open_id, direction, source, face_value, balance_after, description, change_id, prize_type, task_title, created_at, expires_at)
     SELECT ?, 1, 'task', 1, n + 1, 'bench-g', '', 'integral', '', ?, ? + n * 60000 FROM bench_seq WHERE n < 1000`,
    [ME, now, now + 86_400_000],
  );
  await pool.query(
    `INSERT INTO points_lots (open_id, source, record_id, granted_at, expires_at, amount, remaining)
     SELECT open_id, source, id, created_at, expires_at, face_value, face_value FROM points_changes WHERE open_id = ?`,
    [ME],
  );
  await pool.query(
    `INSERT INTO member_orders (order_id, uid, cpoint, status, revoked_cpoint, balance_after, created_at, updated_at)
     SELECT CONCAT('g-mine-', n), ?, 100, 2, 0, 0, ?, ? FROM bench_seq WHERE n < 100`,
    [ME, now, now],
  );
  await pool.query(
    `INSERT INTO grant_entitlements (identity, claim_id, activity_id, sub_activity_id, product_uri, start_at, end_at, activate_type, granted_at)
     SELECT ?, CONCAT('gm', n), 'a', 's', 'product://bench', ?, ?, 1, ? FROM bench_seq WHERE n < 100`,
    [ME, now, now + 86_400_000, now],
  );
  await pool.query(
    `INSERT INTO ims_scratch_person_prize (aid, pid, openid, prize_id, prize_name, prize_type, money, secret, status, session, create_time, claim_time)
     SELECT ?, ?, ?, 1, 'mug', 2, '0.00', CONCAT('gmine', n), 2, 0, ?, 0 FROM bench_seq WHERE n < 5`,
    [aid, pid, ME, sec],
  );
}

/** Grows every table's other rows to n; returns the seconds each table took. */
async function growTo(pool: Pool, aid: number, from: number, n: number, now: number): Promise<string> {
  const sec = Math.floor(now / 1000);
  const range = [from, n];
  const took: string[] = [];
  let at = Date.now();
  const lap = (table: string): void => {
    took.push(`${table} ${((Date.now() - at) / 1000).toFixed(1)}`);
    at = Date.now();
  };
  await pool.query(
    `INSERT INTO member_users (uid, cpoint, score, grade, updated_at)
     SELECT CONCAT('g-u-', n), (n * 7919) % 100000, (n * 104729) % 1000000, n % 10, 0 FROM bench_seq WHERE n >= ? AND n < ?`,
    range,
  );
  lap('member_users');
  await pool.query(
    `INSERT INTO member_orders (order_id, uid, cpoint, status, revoked_cpoint, balance_after, created_at, updated_at)
     SELECT CONCAT('g-o-', n), CONCAT('g-u-', n % 50000), 100, 2, 0, 0, ?, ? FROM bench_seq WHERE n >= ? AND n < ?`,
    [now, now, ...range],
  );
  lap('member_orders');
  await pool.query(
    `INSERT INTO points_changes (open_id, direction, source, face_value, balance_after, description, change_id, prize_type, task_title, created_at, expires_at)
     SELECT CONCAT('g-p-', n % 50000), 1, 'task', 1, 1, 'bench-g', '', 'integral', '', ?, ? FROM bench_seq WHERE n >= ? AND n < ?`,
    [now, now + 86_400_000, ...range],
  );
  lap('points_changes');
  await pool.query(
    `INSERT INTO points_lots (open_id, source, record_id, granted_at, expires_at, amount, remaining)
     SELECT open_id, source, id, created_at, expires_at, face_value, face_value FROM points_changes WHERE description = 'bench-g' AND open_id <> ? AND id > ?`,
    [ME, await count(pool, `SELECT COALESCE(MAX(record_id), 0) AS c FROM points_lots WHERE open_id <> '${ME}'`)],
  );
  lap('points_lots');
  await pool.query(
    `INSERT INTO grant_entitlements (identity, claim_id, activity_id, sub_activity_id, product_uri, start_at, end_at, activate_type, granted_at)
     SELECT CONCAT('g-i-', n % 50000), CONCAT('g', n), 'a', 's', 'product://bench', ?, ?, 1, ? FROM bench_seq WHERE n >= ? AND n < ?`,
    [now, now + 86_400_000, now, ...range],
  );
  lap('grant_entitlements');
  await pool.query(
    `INSERT INTO ims_scratch_person (aid, uniacid, openid, nickname, headimgurl, name, tel, address, other_info, info_time, create_time, update_time)
     SELECT ?, 0, CONCAT('g-l-', n), CONCAT('player ', n), '', '', '', '', '', 0, ?, ? FROM bench_seq WHERE n >= ? AND n < ?`,
    [aid, sec, sec, ...range],
  );
  lap('ims_scratch_person');
  // One person in ten has won something.
  await pool.query(
    `INSERT INTO ims_scratch_person_prize (aid, pid, openid, prize_id, prize_name, prize_type, money, secret, status, session, create_time, claim_time)
     SELECT ?, p.id, p.openid, 1, 'mug', 2, '0.00', CONCAT('g', p.id), 2, 0, ?, 0
     FROM ims_scratch_person p WHERE p.aid = ? AND p.openid LIKE 'g-l-%' AND p.id % 10 = 0 AND p.id > ?`,
    [aid, sec, aid, await count(pool, `SELECT COALESCE(MAX(pid), 0) AS c FROM ims_scratch_person_prize WHERE aid = ${aid} AND openid <> '${ME}'`)],
  );
  lap('ims_scratch_person_prize');
  return took.join(', ');
}

export const growthReport: Report = {
  name: 'Reads against history size',
  async run(ctx: BenchContext, settle: () => Promise<void>): Promise<string[]> {
    const { clients, pool } = ctx;
    const now = Date.now();
    await ensureSeq(pool, Math.max(...SIZES, 1000));
    const minute = Math.floor(now / 60_000) * 60_000;
    const saved = await clients.lottery.saveActivity({
      activity: {
        enabled: true,
        title: 'bench growth',
        activeType: lpb.ActiveType.ACTIVE_TYPE_NORMAL,
        template: lpb.Template.TEMPLATE_WHEEL,
        maxPrize: 1,
        prizes: [{ prizeId: 0, type: lpb.PrizeType.PRIZE_TYPE_PHYSICAL, name: 'mug', sum: 10, chance: '1', money: '', min: '', max: '', img: '', link: '', desc: '', info: '' }],
        sessions: [{ startTime: new Date(minute - 3_600_000), endTime: new Date(minute + 86_400_000) }],
      } as lpb.Activity,
    });
    const code = saved.activity?.code ?? '';
    const aid = Number(saved.activity?.activityId ?? 0);
    const { token } = await clients.lottery.enterActivity({ code, openid: ME, nickname: 'me' });
    const pid = await count(pool, `SELECT id AS c FROM ims_scratch_person WHERE openid = '${ME}'`);
    await seedMine(pool, aid, pid, now);

    const byScore = { sortField: mpb.SortField.SORT_FIELD_SCORE, sortOrder: mpb.SortOrder.SORT_ORDER_DESC, limit: 20 };
    // The deep page sits halfway down the N users (offset N/2).
    const deepPage = (n: number): number => Math.floor(n / 2 / 20) + 1;
    const reads: ReadonlyArray<readonly [string, (n: number) => Promise<unknown>]> = [
      // Not a history read: a primary-key read, the noise floor of the machine at that moment.
      ['reference: member GetCpoint (one user by key)', () => clients.member.getCpoint({ uid: 'g-u-1' })],
      ['member ListUsersSorted (score desc, page 1 of 20)', () => clients.member.listUsersSorted({ ...byScore, page: 1 })],
      ['member ListUsersSorted (score desc, deep page: offset N/2)', (n) => clients.member.listUsersSorted({ ...byScore, page: deepPage(n) })],
      ['member ListUsersSorted (score desc, same deep page by page_token)', () => clients.member.listUsersSorted({ ...byScore, pageToken: deepToken })],
      ['member ListOrders (user with 100 orders, 20)', () => clients.member.listOrders({ uid: ME, pageSize: 20 })],
      ['points ListChangeRecords (user with 1,000 records, 20)', () => clients.points.listChangeRecords({ openId: ME, type: ppb.ChangeRecordType.CHANGE_RECORD_TYPE_TASK, pageSize: 20 })],
      ['points GetUserPoints (user with 1,000 lots)', () => clients.points.getUserPoints({ openId: ME })],
      ['lottery ListWinners (N persons, N/10 winners)', () => clients.lottery.listWinners({ code })],
      ['lottery ListMyPrizes (N persons)', () => clients.lottery.listMyPrizes({ token })],
      ['grant ListEntitlements (identity with 100, 20)', () => clients.grant.listEntitlements({ identity: ME, pageSize: 20 })],
    ];
    let deepToken = '';
    const cells = new Map<string, string[]>(reads.map(([name]) => [name, []]));
    let from = 0;
    for (const n of SIZES) {
      const seedStart = Date.now();
      const took = await growTo(pool, aid, from, n, now);
      from = n;
      process.stdout.write(`growth: N=${n} seeded in ${((Date.now() - seedStart) / 1000).toFixed(1)} s (${took})\n`);
      // The token that names the deep page: the next-page token of the page before it.
      deepToken = (await clients.member.listUsersSorted({ ...byScore, page: deepPage(n) - 1 })).nextPageToken;
      const [byOffset, byToken] = await Promise.all([clients.member.listUsersSorted({ ...byScore, page: deepPage(n) }), clients.member.listUsersSorted({ ...byScore, pageToken: deepToken })]);
      if (JSON.stringify(byOffset.users) !== JSON.stringify(byToken.users) || byToken.users.length !== 20) throw new Error(`the deep page by token differs from the one by offset at N=${n}`);
      await settle();
      for (const [name, call] of reads) {
        const r = await runLoad(name, LOAD, () => call(n));
        if (r.errors > 0) throw new Error(`${name} failed ${r.errors} times at N=${n}`);
        cells.get(name)?.push(`${r.p50Ms.toFixed(2)} / ${r.p99Ms.toFixed(2)}`);
      }
      process.stdout.write(`growth: N=${n} measured\n`);
    }
    return [
      `Reads against history size: p50 / p99 ms at concurrency ${LOAD.concurrency} (N rows in each table; the lottery activity has N persons)`,
      ...table(['read', ...SIZES.map((n) => `N=${n.toLocaleString('en-US')}`)], reads.map(([name]) => [name, ...(cells.get(name) ?? [])])),
    ];
  },
};
