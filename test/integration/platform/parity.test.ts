/**
 * One truth per hot transaction: each hot write exists twice, as the SQLite path in the area's
 * store.ts and as a MySQL stored routine (src/<area>/sql/). The same scenarios run on both
 * stores, on the same fake clock, and every row of every table the areas own must come out
 * the same once ids and random values are normalised: a row one path writes and the other
 * does not, or writes differently, fails here.
 */
import { expect } from 'chai';
import { grant as gpb, lottery as lpb, points as ppb, type Clients } from '@huodong/clients';
import type { Knex } from 'knex';
import { T as grantT } from '../../../src/grant/migrations.js';
import { T as lotteryT } from '../../../src/lottery/migrations.js';
import { T as memberT } from '../../../src/member/migrations.js';
import { REFUSALS as pointsRefusals, T as pointsT } from '../../../src/points/migrations.js';
import { STORE_KINDS, startTestApp, type StoreKind } from '../../support/app.js';
import { FakeClock } from '../../support/clock.js';

const START = '2026-03-01T04:00:00Z';
const MINUTE = 60_000;

/** Steps of every hot path, refusals included; each is followed by a clock tick. */
async function scenarios(clients: Clients, clock: FakeClock): Promise<void> {
  const { member, points, lottery, grant } = clients;
  const step = async (fn: () => Promise<unknown>): Promise<void> => {
    await fn().catch(() => undefined);
    clock.advance(1000);
  };

  // ConsumeCpoint: paid, replayed, refused for reuse, insufficient; a refund around it.
  await step(() => member.adminAddCpoint({ requestId: 'add-1', uid: 'm1', cpoint: '10.00', adminId: 'ops' }));
  await step(() => member.consumeCpoint({ orderId: 'o1', uid: 'm1', cpoint: '2.50' }));
  await step(() => member.consumeCpoint({ orderId: 'o1', uid: 'm1', cpoint: '2.50' }));
  await step(() => member.consumeCpoint({ orderId: 'o1', uid: 'm1', cpoint: '3.00' }));
  await step(() => member.consumeCpoint({ orderId: 'o2', uid: 'm1', cpoint: '99.00' }));
  await step(() => member.consumeCpoint({ orderId: 'o3', uid: 'm1', cpoint: '7.50' }));
  await step(() => member.revokeConsume({ orderId: 'o3', uid: 'm1', cpoint: '7.50' }));

  // ChangePoints credit and debit (over two lots, replayed, insufficient), ExchangePrize
  // (exchanged, limit reached, sold out), SendPrize.
  const change = (requestId: string, openId: string, direction: ppb.ChangeDirection, faceValue: string) =>
    points.changePoints({ requestId, openId, direction, faceValue, source: ppb.PointsSource.POINTS_SOURCE_OTHER });
  const CREDIT = ppb.ChangeDirection.CHANGE_DIRECTION_CREDIT;
  const DEBIT = ppb.ChangeDirection.CHANGE_DIRECTION_DEBIT;
  await step(() => change('c1', 'p1', CREDIT, '100'));
  await step(() => change('c2', 'p1', CREDIT, '80'));
  await step(() => change('c2', 'p1', CREDIT, '80'));
  await step(() => change('d1', 'p1', DEBIT, '120'));
  await step(() => change('d1', 'p1', DEBIT, '120'));
  await step(() => change('d2', 'p1', DEBIT, '500'));
  await step(() => change('c3', 'p2', CREDIT, '30'));
  const prize = (prizeId: string, total: string) =>
    points.savePrize({
      prize: ppb.Prize.fromPartial({
        prizeId,
        faceValue: '10',
        title: 'Mug',
        description: 'a mug',
        icon: 'https://img/mug.png',
        total,
        type: ppb.PrizeType.PRIZE_TYPE_VIRTUAL_GOODS,
        exchangeLimit: ppb.ExchangeLimit.EXCHANGE_LIMIT_DAY,
      }),
    });
  await step(() => prize('mug', '5'));
  await step(() => prize('rare', '1'));
  await step(() => points.exchangePrize({ requestId: 'x1', openId: 'p1', prizeId: 'mug' }));
  await step(() => points.exchangePrize({ requestId: 'x2', openId: 'p1', prizeId: 'mug' }));
  await step(() => points.exchangePrize({ requestId: 'x3', openId: 'p1', prizeId: 'rare' }));
  await step(() => points.exchangePrize({ requestId: 'x4', openId: 'p2', prizeId: 'rare' }));
  await step(() => points.sendPrize({ requestId: 's1', openId: 'p2', prizeId: 'mug', faceValue: '5' }));
  // Refusals are their request id's final answer (points_refusals): replayed after points and
  // stock arrive, still refused; a credit under a refused id; a refused debit of a user without
  // an account; a disabled prize (stored by store.ts on both stores).
  await step(() => change('c4', 'p1', CREDIT, '1000'));
  await step(() => change('d2', 'p1', DEBIT, '500'));
  await step(() => change('d2', 'p1', CREDIT, '5'));
  await step(() => change('d3', 'p3', DEBIT, '5'));
  await step(() => prize('rare', '3'));
  await step(() => points.exchangePrize({ requestId: 'x4', openId: 'p2', prizeId: 'rare' }));
  await step(() => points.exchangePrize({ requestId: 'x2', openId: 'p1', prizeId: 'mug' }));
  await step(() =>
    points.savePrize({
      prize: ppb.Prize.fromPartial({
        prizeId: 'off',
        faceValue: '1',
        title: 'Off',
        total: '1',
        type: ppb.PrizeType.PRIZE_TYPE_VIRTUAL_GOODS,
        exchangeLimit: ppb.ExchangeLimit.EXCHANGE_LIMIT_DAY,
        disabled: true,
      }),
    }),
  );
  await step(() => points.exchangePrize({ requestId: 'x5', openId: 'p1', prizeId: 'off' }));

  // Draw: a sure win with stock for one, then stock gone, then no plays left.
  const now = new Date(START).getTime();
  const saved = await lottery.saveActivity({
    activity: lpb.Activity.fromPartial({
      enabled: true,
      title: 'parity',
      activeType: lpb.ActiveType.ACTIVE_TYPE_NORMAL,
      template: lpb.Template.TEMPLATE_SCRATCH_CARD,
      prizes: [{ prizeId: 0, type: lpb.PrizeType.PRIZE_TYPE_PHYSICAL, name: 'bike', sum: 1, chance: '100', money: '', min: '', max: '', img: '', link: '', desc: '', info: '' }],
      sessions: [{ startTime: new Date(now - 60 * MINUTE), endTime: new Date(now + 24 * 60 * MINUTE) }],
      maxPlay: 1,
      maxEplay: 0,
      maxShare: 0,
      maxPrize: 1,
    }),
  });
  clock.advance(1000);
  const code = saved.activity?.code ?? '';
  for (const openid of ['l1', 'l2']) {
    const { token } = await lottery.enterActivity({ code, openid, nickname: openid, avatar: '' });
    clock.advance(1000);
    await step(() => lottery.draw({ token, requestId: `${openid}-a` }));
    await step(() => lottery.draw({ token, requestId: `${openid}-a` }));
    await step(() => lottery.draw({ token, requestId: `${openid}-b` }));
  }

  // Participate: granted, nonce replayed, person limit, quota gone.
  const activity = (
    await grant.saveActivity({
      activity: gpb.Activity.fromPartial({
        label: 'parity',
        name: 'parity',
        status: gpb.ActivityStatus.ACTIVITY_STATUS_ENABLED,
        startTime: new Date(now - 60 * MINUTE),
        endTime: new Date(now + 24 * 60 * MINUTE),
      }),
    })
  ).activity;
  clock.advance(1000);
  await grant.saveSubActivity({
    subActivity: gpb.SubActivity.fromPartial({
      activityId: activity?.id ?? '',
      name: 'unit',
      status: gpb.ActivityStatus.ACTIVITY_STATUS_ENABLED,
      quota: '2',
      perPersonLimit: 1,
      products: [{ productUri: 'product://a', validity: { $case: 'days', value: 30 }, activateType: gpb.ActivateType.ACTIVATE_TYPE_ON_GRANT }],
    }),
  });
  clock.advance(1000);
  const participate = (identity: string, nonce: string) =>
    grant.participate({ source: 's', branch: 'b', nonce, extParams: { mode: 'sync' }, identity, activityLabel: 'parity' });
  await step(() => participate('13800000001', 'n1'));
  await step(() => participate('13800000001', 'n1'));
  await step(() => participate('13800000001', 'n2'));
  await step(() => participate('13800000002', 'n3'));
  await step(() => participate('13800000003', 'n4'));

  // The daily job's set-based expiry (last: it moves the clock two days on): sign-in points
  // valid one day, one user with two lots and one with a lot partly spent, due and expired.
  const SIGN = ppb.PointsSource.POINTS_SOURCE_SIGN;
  await step(() => points.savePointsRule({ ruleDetail: 'parity', sourceExpiries: [{ source: SIGN, validityDays: 1 }] }));
  const sign = (requestId: string, openId: string, faceValue: string) =>
    points.changePoints({ requestId, openId, direction: CREDIT, faceValue, source: SIGN });
  await step(() => sign('e1', 'p3', '7'));
  await step(() => sign('e2', 'p3', '5'));
  await step(() => sign('e3', 'p1', '9'));
  await step(() => change('e4', 'p1', DEBIT, '70'));
  clock.advance(2 * 24 * 60 * MINUTE);
  await step(() => points.runDailyJob({}));
}

/**
 * How rows are normalised: `id` columns and the columns naming them become placeholders
 * numbered in the order of `order`, per namespace; values that differ by chance (a random
 * slot, secret, code, app id) become placeholders too, and so do their appearances inside
 * other text (a rendered answer, a claim's outcome).
 */
interface TableRule {
  readonly order: readonly string[];
  readonly refs?: Readonly<Record<string, string>>;
  readonly drop?: readonly string[];
}

const AID = { aid: lotteryT.activity };
const RULES: Readonly<Record<string, TableRule>> = {
  [memberT.users]: { order: ['uid'] },
  [memberT.journal]: { order: ['id'], refs: { id: memberT.journal } },
  [memberT.orders]: { order: ['id'], refs: { id: memberT.orders } },
  [memberT.requests]: { order: ['kind', 'request_id'] },
  [pointsT.accounts]: { order: ['open_id'] },
  [pointsT.changes]: { order: ['id'], refs: { id: pointsT.changes } },
  [pointsT.lots]: { order: ['id'], refs: { id: pointsT.lots, record_id: pointsT.changes } },
  [pointsT.draws]: { order: ['record_id', 'lot_id'], refs: { record_id: pointsT.changes, lot_id: pointsT.lots } },
  [pointsT.prizes]: { order: ['prize_id'] },
  [pointsT.exchanges]: { order: ['id'], refs: { id: pointsT.exchanges, record_id: pointsT.changes } },
  [pointsRefusals]: { order: ['open_id', 'request_id'] },
  [pointsT.rules]: { order: ['id'] },
  [pointsT.jobRuns]: { order: ['run_date'] },
  [lotteryT.activity]: { order: ['id'], refs: { id: lotteryT.activity } },
  [lotteryT.meta]: { order: ['aid'], refs: { ...AID, code: 'code' } },
  [lotteryT.person]: { order: ['id'], refs: { id: lotteryT.person, ...AID } },
  [lotteryT.personPrize]: { order: ['id'], refs: { id: lotteryT.personPrize, ...AID, pid: lotteryT.person, secret: 'secret' } },
  [lotteryT.stock]: { order: ['aid', 'prize_id'], refs: AID },
  [lotteryT.userCounters]: { order: ['aid', 'openid'], refs: AID },
  [lotteryT.sessionCounters]: { order: ['aid', 'openid', 'session'], refs: AID },
  [lotteryT.drawLog]: { order: ['id'], refs: { id: lotteryT.drawLog, ...AID }, drop: ['slot'] },
  [grantT.activities]: { order: ['created_at'], refs: { id: grantT.activities } },
  [grantT.units]: { order: ['created_at'], refs: { id: grantT.units, activity_id: grantT.activities } },
  [grantT.personCounts]: { order: ['sub_activity_id', 'identity'], refs: { sub_activity_id: grantT.units } },
  [grantT.nonces]: { order: ['nonce'], refs: { app_id: 'app' } },
  [grantT.claims]: { order: ['created_at'], refs: { id: grantT.claims, app_id: 'app' }, drop: ['lease_owner'] },
  [grantT.entitlements]: {
    order: ['id'],
    refs: { id: grantT.entitlements, claim_id: grantT.claims, activity_id: grantT.activities, sub_activity_id: grantT.units },
  },
};

type Snapshot = Record<string, string[]>;

async function snapshot(knex: Knex): Promise<Snapshot> {
  const placeholders = new Map<string, string>();
  const counters = new Map<string, number>();
  const placeholder = (namespace: string, value: string): string => {
    const key = `${namespace}\u0000${value}`;
    let p = placeholders.get(key);
    if (p === undefined) {
      const n = (counters.get(namespace) ?? 0) + 1;
      counters.set(namespace, n);
      p = `<${namespace}#${n}>`;
      placeholders.set(key, p);
    }
    return p;
  };
  const raw: Record<string, Array<Record<string, unknown>>> = {};
  for (const [table, rule] of Object.entries(RULES)) {
    const rows = (await knex(table).select('*')) as Array<Record<string, unknown>>;
    const key = (r: Record<string, unknown>): string => rule.order.map((c) => String(r[c]).padStart(24, '0')).join('|');
    rows.sort((a, b) => key(a).localeCompare(key(b)));
    for (const row of rows) for (const [col, ns] of Object.entries(rule.refs ?? {})) if (row[col] !== null) row[col] = placeholder(ns, String(row[col]));
    raw[table] = rows;
  }
  // Random values that show up inside other text.
  const embedded = [...placeholders.entries()]
    .map(([k, p]) => [k.split('\u0000')[1] ?? '', p] as const)
    .filter(([v]) => v.length >= 8)
    .sort((a, b) => b[0].length - a[0].length);
  const out: Snapshot = {};
  for (const [table, rows] of Object.entries(raw)) {
    const drop = new Set(RULES[table]?.drop ?? []);
    out[table] = rows
      .map((row) => {
        const normal: Record<string, string | null> = {};
        for (const col of Object.keys(row).sort()) {
          if (drop.has(col)) continue;
          const v = row[col];
          let text = v === null || v === undefined ? null : typeof v === 'boolean' ? String(Number(v)) : String(v);
          if (text !== null) for (const [value, p] of embedded) text = text.split(value).join(p);
          normal[col] = text;
        }
        return JSON.stringify(normal);
      })
      .sort();
  }
  return out;
}

describe('hot transactions write the same rows on MySQL (routines) and SQLite (store.ts)', function () {
  this.timeout(180_000);

  it('every row of every area table agrees after the same scenarios', async function () {
    const snapshots = {} as Record<StoreKind, Snapshot>;
    for (const store of STORE_KINDS) {
      const clock = new FakeClock(START);
      const t = await startTestApp(store, { clock, env: { HUODONG_HTTP_PORT: '-1' } });
      try {
        await scenarios(t.clients, clock);
        snapshots[store] = await snapshot(t.app.db.knex);
      } finally {
        await t.stop();
      }
    }
    const [mysql, sqlite] = [snapshots['mysql+redlock'], snapshots['sqlite+local']];
    if (process.env.PARITY_DEBUG !== undefined) process.stdout.write(`${JSON.stringify(sqlite, null, 1)}\n`);
    // Every path wrote something, so an empty table on both sides proves nothing.
    for (const table of [memberT.journal, pointsT.draws, pointsT.exchanges, pointsRefusals, lotteryT.personPrize, lotteryT.drawLog, grantT.entitlements, grantT.nonces]) {
      expect(sqlite[table], table).to.not.be.empty;
    }
    for (const table of Object.keys(RULES)) expect(mysql[table], table).to.deep.equal(sqlite[table]);
  });
});
