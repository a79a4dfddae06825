/** Shared set-up for the points suites: an app per store with a fake clock, and invariant checks. */
import { expect } from 'chai';
import { points as pb, type Clients } from '@huodong/clients';
import type { Knex } from 'knex';
import { STORE_KINDS, startTestApp, type StoreKind, type TestApp } from '../../support/app.js';
import { FakeClock } from '../../support/clock.js';

export const sh = (wall: string): Date => new Date(`${wall}+08:00`);

/** Runs the suite on MariaDB+Redlock and SQLite+local, each app on a FakeClock of its own. */
export function describeEachStoreWithClock(
  title: string,
  start: string,
  suite: (ctx: () => TestApp, clock: FakeClock, store: StoreKind) => void,
): void {
  for (const store of STORE_KINDS) {
    describe(`${title} [${store}]`, function () {
      const clock = new FakeClock(sh(start));
      let current: TestApp | undefined;
      before(async function () {
        current = await startTestApp(store, { clock });
      });
      after(async function () {
        await current?.stop();
      });
      suite(
        () => {
          if (current === undefined) throw new Error('test app not started');
          return current;
        },
        clock,
        store,
      );
    });
  }
}

let seq = 0;
export const unique = (prefix: string): string => `${prefix}-${process.pid}-${++seq}`;

export async function savePrize(
  clients: Clients,
  over: Partial<pb.Prize> = {},
): Promise<pb.Prize> {
  const r = await clients.points.savePrize({
    prize: pb.Prize.fromPartial({
      prizeId: unique('prize'),
      faceValue: '100',
      title: 'Mug',
      description: 'a mug',
      icon: 'https://img/mug.png',
      total: '10',
      type: pb.PrizeType.PRIZE_TYPE_VIRTUAL_GOODS,
      exchangeLimit: pb.ExchangeLimit.EXCHANGE_LIMIT_DAY,
      ...over,
    }),
  });
  if (r.prize === undefined) throw new Error('no prize');
  return r.prize;
}

export async function saveTask(clients: Clients, over: Partial<pb.Task> = {}): Promise<pb.Task> {
  const r = await clients.points.saveTask({
    task: pb.Task.fromPartial({
      taskId: unique('task'),
      type: pb.TaskType.TASK_TYPE_CYCLIC,
      cycle: { title: '每日任务', type: pb.CycleType.CYCLE_TYPE_DAY, day: 0 },
      title: 'Check in',
      description: 'open the app',
      button: { title: 'Go', type: pb.ButtonType.BUTTON_TYPE_ROUTE, path: '/pages/home', imageUrl: '' },
      faceValue: '10',
      total: '1',
      model: pb.TaskModel.TASK_MODEL_STANDARD,
      ...over,
    }),
  });
  if (r.task === undefined) throw new Error('no task');
  return r.task;
}

export async function credit(
  clients: Clients,
  openId: string,
  amount: number | string,
  source: pb.PointsSource = pb.PointsSource.POINTS_SOURCE_OTHER,
): Promise<pb.ChangeRecord> {
  const r = await clients.points.changePoints({
    requestId: unique('req'),
    openId,
    direction: pb.ChangeDirection.CHANGE_DIRECTION_CREDIT,
    faceValue: String(amount),
    source,
  });
  if (r.record === undefined) throw new Error('no record');
  return r.record;
}

export async function balanceOf(clients: Clients, openId: string): Promise<number> {
  return Number((await clients.points.getUserPoints({ openId })).points);
}

const toN = (v: unknown): number => Number(v ?? 0);

/**
 * The ledger invariants for one user: account balance == sum of change records == sum of the
 * lots' remaining; every debit record is covered exactly by its draws; no lot negative.
 */
export async function checkLedger(knex: Knex, openId: string): Promise<{ balance: number; records: number }> {
  const account = (await knex('points_accounts').where('open_id', openId).first()) as { balance: unknown } | undefined;
  const signed = (await knex('points_changes')
    .where('open_id', openId)
    .select(knex.raw('SUM(CASE WHEN direction = 1 THEN face_value ELSE -face_value END) AS s'), knex.raw('COUNT(*) AS c'))
    .first()) as { s: unknown; c: unknown };
  const lots = (await knex('points_lots').where('open_id', openId).sum({ s: 'remaining' }).min({ m: 'remaining' }).first()) as {
    s: unknown;
    m: unknown;
  };
  const balance = toN(account?.balance);
  expect(toN(signed.s), 'sum of change records').to.equal(balance);
  expect(toN(lots.s), 'sum of lots remaining').to.equal(balance);
  if (lots.m !== null) expect(toN(lots.m), 'no lot below zero').to.be.at.least(0);
  const uncovered = (await knex('points_changes as c')
    .leftJoin('points_draws as d', 'd.record_id', 'c.id')
    .where('c.open_id', openId)
    .where('c.direction', 2)
    .groupBy('c.id', 'c.face_value')
    .select('c.id', 'c.face_value', knex.raw('COALESCE(SUM(d.amount), 0) AS drawn'))) as Array<{ face_value: unknown; drawn: unknown }>;
  for (const row of uncovered) expect(toN(row.drawn), 'draws cover the debit').to.equal(toN(row.face_value));
  return { balance, records: toN(signed.c) };
}
