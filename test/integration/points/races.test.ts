import { expect } from 'chai';
import { HuodongError, points as pb } from '@huodong/clients';
import { describeEachStore } from '../../support/app.js';
import { checkLedger, credit, savePrize, saveTask, unique } from './helpers.js';

const { ChangeDirection, PointsSource, ExchangeLimit } = pb;

/** Settles every call and counts successes and failure reasons. */
async function tally(calls: ReadonlyArray<Promise<unknown>>): Promise<{ ok: number; reasons: Record<string, number> }> {
  const settled = await Promise.allSettled(calls);
  const reasons: Record<string, number> = {};
  let ok = 0;
  for (const s of settled) {
    if (s.status === 'fulfilled') ok += 1;
    else {
      const reason = s.reason instanceof HuodongError ? s.reason.reason : String(s.reason);
      reasons[reason] = (reasons[reason] ?? 0) + 1;
    }
  }
  return { ok, reasons };
}

const count = async (q: Promise<unknown>): Promise<number> => Number(((await q) as { c: unknown }).c);

describeEachStore('PointsCenterService races', (ctx) => {
  const knex = (): ReturnType<typeof ctx>['app']['db']['knex'] => ctx().app.db.knex;

  it('300 users racing for a prize with stock 50: exactly 50 exchanges, stock 0, 50 debits', async () => {
    const { clients } = ctx();
    const users = Array.from({ length: 300 }, () => unique('racer'));
    for (let i = 0; i < users.length; i += 50) await Promise.all(users.slice(i, i + 50).map((u) => credit(clients, u, 100)));
    const prize = await savePrize(clients, { total: '50', faceValue: '100', exchangeLimit: ExchangeLimit.EXCHANGE_LIMIT_ONCE });
    const result = await tally(users.map((openId) => clients.points.exchangePrize({ requestId: unique('x'), openId, prizeId: prize.prizeId })));
    expect(result.ok).to.equal(50);
    expect(result.reasons).to.deep.equal({ PRIZE_SOLD_OUT: 250 });
    expect((await clients.points.getPrize({ prizeId: prize.prizeId })).prize?.stock).to.equal('0');
    expect(await count(knex()('points_exchanges').where('prize_id', prize.prizeId).count({ c: '*' }).first())).to.equal(50);
    expect(await count(knex()('points_changes').whereIn('open_id', users).where({ direction: 2, change_id: prize.prizeId }).count({ c: '*' }).first())).to.equal(50);
    let spent = 0;
    for (const u of users) {
      const { balance } = await checkLedger(knex(), u);
      expect([0, 100]).to.include(balance);
      if (balance === 0) spent += 1;
    }
    expect(spent).to.equal(50);
  });

  it('one user racing 20 exchanges of a once-only prize gets exactly one', async () => {
    const { clients } = ctx();
    const user = unique('once');
    await credit(clients, user, 10_000);
    const prize = await savePrize(clients, { total: '100', faceValue: '10', exchangeLimit: ExchangeLimit.EXCHANGE_LIMIT_ONCE });
    const result = await tally(
      Array.from({ length: 20 }, () => clients.points.exchangePrize({ requestId: unique('x'), openId: user, prizeId: prize.prizeId })),
    );
    expect(result.ok).to.equal(1);
    expect(Object.keys(result.reasons).every((r) => r === 'EXCHANGE_LIMIT_REACHED' || r === 'LOCK_BUSY')).to.equal(true);
    expect((await clients.points.getPrize({ prizeId: prize.prizeId })).prize?.stock).to.equal('99');
    expect((await checkLedger(knex(), user)).balance).to.equal(9_990);
  });

  it('one user with 550 points racing 20 exchanges of 100 gets exactly 5 and never overspends', async () => {
    const { clients } = ctx();
    const user = unique('poor');
    await credit(clients, user, 300);
    await credit(clients, user, 250, PointsSource.POINTS_SOURCE_TASK);
    const prizes = await Promise.all(Array.from({ length: 20 }, () => savePrize(clients, { total: '5', faceValue: '100' })));
    const result = await tally(prizes.map((p) => clients.points.exchangePrize({ requestId: unique('x'), openId: user, prizeId: p.prizeId })));
    expect(result.ok).to.equal(5);
    expect(Object.keys(result.reasons).every((r) => r === 'INSUFFICIENT_POINTS' || r === 'LOCK_BUSY')).to.equal(true);
    expect((await checkLedger(knex(), user)).balance).to.equal(50);
    expect(Number((await clients.points.getUserPoints({ openId: user })).points)).to.equal(50);
  });

  it('concurrent credits and debits of one user keep balance == lots == change records', async () => {
    const { clients } = ctx();
    const user = unique('mixed');
    await credit(clients, user, 300);
    const calls = Array.from({ length: 120 }, (_, i) =>
      clients.points.changePoints({
        requestId: unique('m'),
        openId: user,
        direction: i % 3 === 0 ? ChangeDirection.CHANGE_DIRECTION_CREDIT : ChangeDirection.CHANGE_DIRECTION_DEBIT,
        faceValue: i % 3 === 0 ? '7' : '10',
        source: i % 2 === 0 ? PointsSource.POINTS_SOURCE_SIGN : PointsSource.POINTS_SOURCE_TASK,
      }),
    );
    const result = await tally(calls);
    const { balance } = await checkLedger(knex(), user);
    const credits = await count(knex()('points_changes').where({ open_id: user, direction: 1 }).count({ c: '*' }).first());
    const debits = await count(knex()('points_changes').where({ open_id: user, direction: 2 }).count({ c: '*' }).first());
    expect(credits + debits - 1).to.equal(result.ok);
    expect(balance).to.equal(300 + (credits - 1) * 7 - debits * 10);
    expect(balance).to.be.at.least(0);
    expect(Number((await clients.points.getUserPoints({ openId: user })).points)).to.equal(balance);
  });

  it('raising stock while exchanges run never loses or invents a unit', async () => {
    const { clients } = ctx();
    const users = Array.from({ length: 100 }, () => unique('raise'));
    await Promise.all(users.map((u) => credit(clients, u, 50)));
    const prize = await savePrize(clients, { total: '20', faceValue: '50' });
    const exchanges = users.map((openId) => clients.points.exchangePrize({ requestId: unique('x'), openId, prizeId: prize.prizeId }));
    const raise = clients.points.savePrize({ prize: { ...prize, total: '50' } });
    const [result] = await Promise.all([tally(exchanges), raise]);
    const after = (await clients.points.getPrize({ prizeId: prize.prizeId })).prize;
    expect(after?.total).to.equal('50');
    expect(result.ok + Number(after?.stock)).to.equal(50);
    expect(await count(knex()('points_exchanges').where('prize_id', prize.prizeId).count({ c: '*' }).first())).to.equal(result.ok);
  });

  it('20 parallel replays of one request_id credit once and all answer the same record', async () => {
    const { clients } = ctx();
    const user = unique('replay');
    const req = {
      requestId: unique('same'),
      openId: user,
      direction: ChangeDirection.CHANGE_DIRECTION_CREDIT,
      faceValue: '9',
      source: PointsSource.POINTS_SOURCE_INVITE,
    };
    const settled = await Promise.allSettled(Array.from({ length: 20 }, () => clients.points.changePoints(req)));
    const ids = new Set(settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value.record?.recordId] : [])));
    const failures = settled.flatMap((s) => (s.status === 'rejected' ? [(s.reason as HuodongError).reason] : []));
    expect(ids.size).to.equal(1);
    expect(failures.every((r) => r === 'LOCK_BUSY')).to.equal(true);
    expect((await checkLedger(knex(), user)).balance).to.equal(9);
  });

  it('50 parallel replays of one debit that empties the balance debit once and all answer the first record', async () => {
    const { clients } = ctx();
    const user = unique('redebit');
    await credit(clients, user, 40);
    const req = { requestId: unique('same'), openId: user, direction: ChangeDirection.CHANGE_DIRECTION_DEBIT, faceValue: '40', source: PointsSource.POINTS_SOURCE_OTHER };
    const settled = await Promise.allSettled(Array.from({ length: 50 }, () => clients.points.changePoints(req)));
    const answers = settled.flatMap((s) => (s.status === 'fulfilled' ? [`${s.value.record?.recordId}:${s.value.record?.balanceAfter}`] : []));
    const failures = settled.flatMap((s) => (s.status === 'rejected' ? [(s.reason as HuodongError).reason] : []));
    // Replays after the first see a zero balance: they must still get its answer, not INSUFFICIENT_POINTS.
    expect(new Set(answers).size).to.equal(1);
    expect(answers[0]?.endsWith(':0')).to.equal(true);
    expect(failures.every((r) => r === 'LOCK_BUSY')).to.equal(true);
    expect((await checkLedger(knex(), user)).balance).to.equal(0);
    expect(await count(knex()('points_changes').where({ open_id: user, direction: 2 }).count({ c: '*' }).first())).to.equal(1);
  });

  it('30 parallel copies of one debit racing the credit that makes it affordable all get one answer: paid once, or all refused', async () => {
    const { clients } = ctx();
    const user = unique('stale');
    await credit(clients, user, 10);
    const req = { requestId: unique('same'), openId: user, direction: ChangeDirection.CHANGE_DIRECTION_DEBIT, faceValue: '50', source: PointsSource.POINTS_SOURCE_OTHER };
    const copies = Array.from({ length: 30 }, () => clients.points.changePoints(req));
    const funded = credit(clients, user, 100);
    const settled = await Promise.allSettled(copies);
    await funded;
    const answers = new Set(
      settled.flatMap((s) =>
        s.status === 'fulfilled' ? [`paid:${s.value.record?.recordId}`] : (s.reason as HuodongError).reason === 'LOCK_BUSY' ? [] : [(s.reason as HuodongError).reason],
      ),
    );
    expect(answers.size, [...answers].join(', ')).to.equal(1);
    const debits = await count(knex()('points_changes').where({ open_id: user, direction: 2 }).count({ c: '*' }).first());
    const [answer] = [...answers];
    if (answer === 'INSUFFICIENT_POINTS') expect(debits).to.equal(0);
    else expect([answer?.startsWith('paid:'), debits]).to.deep.equal([true, 1]);
    expect((await checkLedger(knex(), user)).balance).to.equal(debits === 0 ? 110 : 60);
    // The answer stays: a copy sent now gets it too.
    const late = await clients.points.changePoints(req).then(
      (r) => `paid:${r.record?.recordId}`,
      (err: unknown) => (err as HuodongError).reason,
    );
    expect(late).to.equal(answer);
  });

  it('30 parallel replays of one exchange make one exchange and all answer it', async () => {
    const { clients } = ctx();
    const user = unique('reexchange');
    await credit(clients, user, 100);
    const prize = await savePrize(clients, { total: '10', faceValue: '100' });
    const settled = await Promise.allSettled(
      Array.from({ length: 30 }, () => clients.points.exchangePrize({ requestId: 'same-exchange', openId: user, prizeId: prize.prizeId })),
    );
    const ids = new Set(settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value.exchange?.exchangeId] : [])));
    const failures = settled.flatMap((s) => (s.status === 'rejected' ? [(s.reason as HuodongError).reason] : []));
    expect(ids.size).to.equal(1);
    expect(failures.every((r) => r === 'LOCK_BUSY')).to.equal(true);
    expect((await clients.points.getPrize({ prizeId: prize.prizeId })).prize?.stock).to.equal('9');
    expect((await checkLedger(knex(), user)).balance).to.equal(0);
  });

  it('20 parallel claims of one task reward credit it once', async () => {
    const { clients } = ctx();
    const user = unique('claim');
    const task = await saveTask(clients, { faceValue: '15' });
    await clients.points.setUserTaskStatus({ openId: user, taskId: task.taskId, completeNum: '1', status: pb.TaskStatus.TASK_STATUS_TO_CLAIM });
    const result = await tally(
      Array.from({ length: 20 }, () => clients.points.receiveTaskAward({ requestId: unique('c'), openId: user, taskId: task.taskId })),
    );
    expect(result.ok).to.equal(1);
    expect(Object.keys(result.reasons).every((r) => r === 'TASK_NOT_CLAIMABLE' || r === 'LOCK_BUSY')).to.equal(true);
    expect((await checkLedger(knex(), user)).balance).to.equal(15);
  });
});
