/**
 * Issue 16.1, the first answer for a key is final: a ChangePoints debit, ExchangePrize or
 * SendPrize refused (not enough points, sold out, exchange limit, disabled prize) keeps that
 * refusal as its request id's answer. The same request sent again after points, stock or a new
 * period arrived is refused the same way and moves nothing; paying takes a new request id.
 * (test/integration/stale-request.test.ts: the same with a stale copy on a paused instance.)
 */
import { expect } from 'chai';
import { GrpcStatus, points as pb } from '@huodong/clients';
import { expectError } from '../../support/errors.js';
import { balanceOf, checkLedger, credit, describeEachStoreWithClock, savePrize, sh, unique } from './helpers.js';

const { ChangeDirection, PointsSource, ExchangeLimit } = pb;

describeEachStoreWithClock('PointsCenterService refusals are final', '2026-03-10T10:00:00', (ctx, clock) => {
  const points = (): ReturnType<typeof ctx>['clients']['points'] => ctx().clients.points;
  const knex = (): ReturnType<typeof ctx>['app']['db']['knex'] => ctx().app.db.knex;
  /** Rows that move or record value for the user, and the prize's stock. */
  const movedRows = async (openId: string): Promise<number[]> =>
    Promise.all(
      ['points_changes', 'points_lots', 'points_draws', 'points_exchanges'].map(async (t) => {
        const q = t === 'points_draws' ? knex()(t).whereIn('record_id', knex()('points_changes').select('id').where('open_id', openId)) : knex()(t).where('open_id', openId);
        return Number(((await q.count({ c: '*' }).first()) as { c: unknown }).c);
      }),
    );
  const stockOf = async (prizeId: string): Promise<string | undefined> => (await points().getPrize({ prizeId })).prize?.stock;

  beforeEach(() => clock.set(sh('2026-03-10T10:00:00')));

  it('ChangePoints: a debit refused for points keeps INSUFFICIENT_POINTS after points arrive; a new request id pays', async () => {
    const user = unique('u');
    await credit(ctx().clients, user, 30);
    const req = { requestId: unique('r'), openId: user, direction: ChangeDirection.CHANGE_DIRECTION_DEBIT, faceValue: '50', source: PointsSource.POINTS_SOURCE_OTHER };
    const first = await expectError(points().changePoints(req), GrpcStatus.FAILED_PRECONDITION, 'INSUFFICIENT_POINTS');
    await credit(ctx().clients, user, 100);
    const before = await movedRows(user);
    const again = await expectError(points().changePoints(req), GrpcStatus.FAILED_PRECONDITION, 'INSUFFICIENT_POINTS');
    expect(again.message).to.equal(first.message);
    expect(await movedRows(user)).to.deep.equal(before);
    expect(await balanceOf(ctx().clients, user)).to.equal(130);
    // Other parameters under the refused id, or a credit under it: the id is taken.
    await expectError(points().changePoints({ ...req, faceValue: '20' }), GrpcStatus.ALREADY_EXISTS, 'IDEMPOTENCY_KEY_REUSED');
    await expectError(points().changePoints({ ...req, direction: ChangeDirection.CHANGE_DIRECTION_CREDIT }), GrpcStatus.ALREADY_EXISTS, 'IDEMPOTENCY_KEY_REUSED');
    expect(await movedRows(user)).to.deep.equal(before);
    const paid = await points().changePoints({ ...req, requestId: unique('r') });
    expect(paid.record?.balanceAfter).to.equal('80');
    expect((await checkLedger(knex(), user)).balance).to.equal(80);
  });

  it('a refused debit of a user without points is final too (the refusal is stored under the account row)', async () => {
    const user = unique('new');
    const req = { requestId: unique('r'), openId: user, direction: ChangeDirection.CHANGE_DIRECTION_DEBIT, faceValue: '5', source: PointsSource.POINTS_SOURCE_OTHER };
    await expectError(points().changePoints(req), GrpcStatus.FAILED_PRECONDITION, 'INSUFFICIENT_POINTS');
    await credit(ctx().clients, user, 10);
    await expectError(points().changePoints(req), GrpcStatus.FAILED_PRECONDITION, 'INSUFFICIENT_POINTS');
    expect((await checkLedger(knex(), user)).balance).to.equal(10);
  });

  it('ExchangePrize refused for points, then stock: each refusal stays the answer and moves neither points nor stock', async () => {
    const user = unique('u');
    await credit(ctx().clients, user, 60);
    const prize = await savePrize(ctx().clients, { faceValue: '100', total: '5' });
    const poor = { requestId: unique('x'), openId: user, prizeId: prize.prizeId };
    await expectError(points().exchangePrize(poor), GrpcStatus.FAILED_PRECONDITION, 'INSUFFICIENT_POINTS');
    await credit(ctx().clients, user, 100);
    const before = await movedRows(user);
    await expectError(points().exchangePrize(poor), GrpcStatus.FAILED_PRECONDITION, 'INSUFFICIENT_POINTS');
    expect(await movedRows(user)).to.deep.equal(before);
    expect(await stockOf(prize.prizeId)).to.equal('5');

    const empty = await savePrize(ctx().clients, { faceValue: '10', total: '0' });
    const late = { requestId: unique('x'), openId: user, prizeId: empty.prizeId };
    await expectError(points().exchangePrize(late), GrpcStatus.FAILED_PRECONDITION, 'PRIZE_SOLD_OUT');
    await ctx().clients.points.savePrize({ prize: { ...empty, total: '3' } });
    await expectError(points().exchangePrize(late), GrpcStatus.FAILED_PRECONDITION, 'PRIZE_SOLD_OUT');
    expect(await stockOf(empty.prizeId)).to.equal('3');
    expect(await movedRows(user)).to.deep.equal(before);
    // New request ids pay.
    expect((await points().exchangePrize({ ...poor, requestId: unique('x') })).balanceAfter).to.equal('60');
    expect((await points().exchangePrize({ ...late, requestId: unique('x') })).balanceAfter).to.equal('50');
    expect(await stockOf(empty.prizeId)).to.equal('2');
    expect((await checkLedger(knex(), user)).balance).to.equal(50);
  });

  it('ExchangePrize refused by the exchange limit stays refused in the next period, with the period it named', async () => {
    const user = unique('u');
    await credit(ctx().clients, user, 300);
    const prize = await savePrize(ctx().clients, { faceValue: '100', exchangeLimit: ExchangeLimit.EXCHANGE_LIMIT_DAY });
    await points().exchangePrize({ requestId: unique('x'), openId: user, prizeId: prize.prizeId });
    const second = { requestId: unique('x'), openId: user, prizeId: prize.prizeId };
    const refused = await expectError(points().exchangePrize(second), GrpcStatus.FAILED_PRECONDITION, 'EXCHANGE_LIMIT_REACHED');
    clock.set(sh('2026-03-11T09:00:00'));
    const before = await movedRows(user);
    const again = await expectError(points().exchangePrize(second), GrpcStatus.FAILED_PRECONDITION, 'EXCHANGE_LIMIT_REACHED');
    expect(again.metadata).to.deep.include({ period_key: 'd:2026-03-10' });
    expect(again.metadata).to.deep.equal(refused.metadata);
    expect(await movedRows(user)).to.deep.equal(before);
    expect((await points().exchangePrize({ ...second, requestId: unique('x') })).exchange?.periodKey).to.equal('d:2026-03-11');
    expect((await checkLedger(knex(), user)).balance).to.equal(100);
  });

  it('SendPrize refused for points, and ExchangePrize refused for a disabled prize, stay refused', async () => {
    const user = unique('u');
    await credit(ctx().clients, user, 10);
    const gift = await savePrize(ctx().clients, { faceValue: '40' });
    const send = { requestId: unique('s'), openId: user, prizeId: gift.prizeId };
    await expectError(points().sendPrize(send), GrpcStatus.FAILED_PRECONDITION, 'INSUFFICIENT_POINTS');
    await credit(ctx().clients, user, 100);
    await expectError(points().sendPrize(send), GrpcStatus.FAILED_PRECONDITION, 'INSUFFICIENT_POINTS');
    expect(await balanceOf(ctx().clients, user)).to.equal(110);

    const off = await savePrize(ctx().clients, { faceValue: '5', disabled: true });
    const early = { requestId: unique('x'), openId: user, prizeId: off.prizeId };
    await expectError(points().exchangePrize(early), GrpcStatus.FAILED_PRECONDITION, 'PRIZE_UNAVAILABLE');
    await ctx().clients.points.savePrize({ prize: { ...off, disabled: false } });
    const before = await movedRows(user);
    await expectError(points().exchangePrize(early), GrpcStatus.FAILED_PRECONDITION, 'PRIZE_UNAVAILABLE');
    expect(await movedRows(user)).to.deep.equal(before);
    expect(await stockOf(off.prizeId)).to.equal('10');
    expect((await points().exchangePrize({ ...early, requestId: unique('x') })).balanceAfter).to.equal('105');
    expect((await checkLedger(knex(), user)).balance).to.equal(105);
  });

  it('a refusal belongs to its app: another app with the same request id runs its own request', async () => {
    const user = unique('u');
    const { clients: other } = await ctx().clientsWithScopes(['points', 'points.admin']);
    const req = { requestId: unique('r'), openId: user, direction: ChangeDirection.CHANGE_DIRECTION_DEBIT, faceValue: '5', source: PointsSource.POINTS_SOURCE_OTHER };
    await expectError(points().changePoints(req), GrpcStatus.FAILED_PRECONDITION, 'INSUFFICIENT_POINTS');
    await credit(ctx().clients, user, 10);
    expect((await other.points.changePoints(req)).record?.balanceAfter).to.equal('5');
    await expectError(points().changePoints(req), GrpcStatus.FAILED_PRECONDITION, 'INSUFFICIENT_POINTS');
    expect((await checkLedger(knex(), user)).balance).to.equal(5);
  });
});
