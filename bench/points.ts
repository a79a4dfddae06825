import { randomBytes } from 'node:crypto';
import { points as pb } from '@huodong/clients';
import type { BenchContext, Scenario } from './scenarios.js';

const READERS = 2_000;
/**
 * Users seeded per ExchangePrize scenario; each exchanges once (the prizes' limit is one a day).
 * An A/B run measures each side for rounds x (warm-up + duration): raise BENCH_POINTS_SPENDERS
 * above that many calls, or the later rounds fail (the A/B table shows their errors).
 */
const SPENDERS = Number(process.env.BENCH_POINTS_SPENDERS ?? 60_000);
const BIG_STOCK = '1000000000';

/** Gives users `${prefix}${0..count-1}` one non-expiring lot of `amount` each, straight in SQL (fast set-up). */
async function seedUsers(ctx: BenchContext, prefix: string, count: number, amount: number): Promise<void> {
  const now = Date.now();
  for (let start = 0; start < count; start += 1000) {
    const ids = Array.from({ length: Math.min(1000, count - start) }, (_, k) => `${prefix}${start + k}`);
    await ctx.pool.query('INSERT INTO points_accounts (open_id, balance, updated_at) VALUES ?', [ids.map((id) => [id, amount, now])]);
    await ctx.pool.query(
      'INSERT INTO points_changes (open_id, direction, source, face_value, balance_after, description, change_id, prize_type, task_title, created_at) VALUES ?',
      [ids.map((id) => [id, 1, 'other', amount, amount, 'bench', '', 'integral', '', now])],
    );
    await ctx.pool.query(
      `INSERT INTO points_lots (open_id, source, record_id, granted_at, expires_at, amount, remaining)
       SELECT open_id, 'other', id, created_at, NULL, face_value, face_value FROM points_changes WHERE open_id IN (?)`,
      [ids],
    );
  }
}

async function prize(ctx: BenchContext, title: string): Promise<string> {
  const r = await ctx.clients.points.savePrize({
    prize: pb.Prize.fromPartial({
      faceValue: '10',
      title,
      total: BIG_STOCK,
      type: pb.PrizeType.PRIZE_TYPE_VIRTUAL_GOODS,
      exchangeLimit: pb.ExchangeLimit.EXCHANGE_LIMIT_DAY,
    }),
  });
  return r.prize?.prizeId ?? '';
}

export function pointsScenarios(ctx: BenchContext): Scenario[] {
  const { points } = ctx.clients;
  // Keys of their own per instance: the A/B bench (run.ts) makes these twice on one database.
  const run = randomBytes(4).toString('hex');
  return [
    {
      name: 'Points GetUserPoints (distinct users)',
      async setup() {
        for (let start = 0; start < READERS; start += 200) {
          await Promise.all(
            Array.from({ length: 200 }, (_, k) =>
              points.changePoints({
                requestId: `seed-${run}-${start + k}`,
                openId: `pr-${run}-${start + k}`,
                direction: pb.ChangeDirection.CHANGE_DIRECTION_CREDIT,
                faceValue: '100',
                source: pb.PointsSource.POINTS_SOURCE_TASK,
              }),
            ),
          );
        }
        return (i) => points.getUserPoints({ openId: `pr-${run}-${i % READERS}` });
      },
    },
    {
      name: 'Points ChangePoints credit (distinct users)',
      async setup() {
        return (i) =>
          points.changePoints({
            requestId: `c-${run}-${i}`,
            openId: `pc-${run}-${i}`,
            direction: pb.ChangeDirection.CHANGE_DIRECTION_CREDIT,
            faceValue: '5',
            source: pb.PointsSource.POINTS_SOURCE_SIGN,
          });
      },
    },
    {
      name: 'Points ExchangePrize one hot prize (distinct users)',
      async setup() {
        await seedUsers(ctx, `ph-${run}-`, SPENDERS, 1_000);
        const prizeId = await prize(ctx, 'hot');
        return (i) => points.exchangePrize({ requestId: `h-${run}-${i}`, openId: `ph-${run}-${i}`, prizeId });
      },
    },
    {
      name: 'Points ExchangePrize 100 prizes (distinct users)',
      async setup() {
        await seedUsers(ctx, `pm-${run}-`, SPENDERS, 1_000);
        const prizeIds: string[] = [];
        for (let k = 0; k < 100; k += 1) prizeIds.push(await prize(ctx, `many-${k}`));
        return (i) => points.exchangePrize({ requestId: `m-${run}-${i}`, openId: `pm-${run}-${i}`, prizeId: prizeIds[i % prizeIds.length] ?? '' });
      },
    },
  ];
}
