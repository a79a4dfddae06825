/**
 * Points request ids belong to the app that used them (issue 13 item 2, as member's orders and
 * request ids do, platform/owner.ts): another app never reads or replays an app's answer, and the
 * same request id used by two apps is two operations. Rows from before request ids had owners
 * (owner '') are never replayed: such an id used again is a new operation of the app using it.
 * The user's points and ledger stay the user's: every app sees the same balance and records.
 */
import { expect } from 'chai';
import { GrpcStatus, points as pb, type Clients } from '@huodong/clients';
import { describeEachStore } from '../../support/app.js';
import { expectError } from '../../support/errors.js';
import { checkLedger, savePrize, unique } from './helpers.js';

const { ChangeDirection, PointsSource } = pb;
const CREDIT = ChangeDirection.CHANGE_DIRECTION_CREDIT;
const DEBIT = ChangeDirection.CHANGE_DIRECTION_DEBIT;

describeEachStore('PointsCenterService request ids per app', (ctx) => {
  let c1: Clients['points'];
  let c2: Clients['points'];
  let admin1: Clients['points'];
  let admin2: Clients['points'];
  let token1: string;
  let token2: string;

  before(async () => {
    c1 = (await ctx().clientsWithScopes(['points'])).clients.points;
    c2 = (await ctx().clientsWithScopes(['points'])).clients.points;
    const a1 = await ctx().clientsWithScopes(['points', 'points.admin']);
    const a2 = await ctx().clientsWithScopes(['points', 'points.admin']);
    [admin1, admin2, token1, token2] = [a1.clients.points, a2.clients.points, a1.token, a2.token];
  });

  const change = (client: Clients['points'], requestId: string, openId: string, direction: pb.ChangeDirection, faceValue: string) =>
    client.changePoints({ requestId, openId, direction, faceValue, source: PointsSource.POINTS_SOURCE_OTHER });

  it('ChangePoints: the same request id from two apps is two operations, each replaying its own answer', async () => {
    const user = unique('iso');
    const requestId = unique('r');
    const first = await change(admin1, requestId, user, CREDIT, '10');
    expect(first.record?.balanceAfter).to.equal('10');
    // Other parameters are fine: it is not admin2's key.
    const second = await change(admin2, requestId, user, CREDIT, '25');
    expect(second.record?.balanceAfter).to.equal('35');
    expect(second.record?.recordId).to.not.equal(first.record?.recordId);
    // Each replays its own answer, and its own only.
    expect((await change(admin1, requestId, user, CREDIT, '10')).record).to.deep.equal(first.record);
    expect((await change(admin2, requestId, user, CREDIT, '25')).record).to.deep.equal(second.record);
    await expectError(change(admin1, requestId, user, CREDIT, '25'), GrpcStatus.ALREADY_EXISTS, 'IDEMPOTENCY_KEY_REUSED');
    // A debit under the same id from a third owner (admin1 acting for a legacy principal) is its own too.
    const debit = await admin1.changePoints(
      { requestId, openId: user, direction: DEBIT, faceValue: '5', source: PointsSource.POINTS_SOURCE_OTHER },
      { onBehalfOf: 'shop' },
    );
    expect(debit.record?.balanceAfter).to.equal('30');
    expect((await checkLedger(ctx().app.db.knex, user)).balance).to.equal(30);
    const owners = (await ctx().app.db.knex('points_changes').where({ open_id: user, request_id: requestId }).count({ n: '*' }).first()) as { n: unknown };
    expect(Number(owners.n)).to.equal(3);
  });

  it("ExchangePrize and SendPrize: another app's request id neither replays nor blocks its own exchange", async () => {
    const user = unique('iso');
    await change(admin1, unique('r'), user, CREDIT, '300');
    const mug = await savePrize(ctx().clients, { faceValue: '100' });
    const cup = await savePrize(ctx().clients, { faceValue: '50' });
    const requestId = unique('x');
    const done = await c1.exchangePrize({ requestId, openId: user, prizeId: mug.prizeId });
    expect(done.balanceAfter).to.equal('200');
    // c2 with c1's request id and the same prize: not c1's answer, but an exchange of c2's own,
    // which the user's exchange limit refuses.
    await expectError(c2.exchangePrize({ requestId, openId: user, prizeId: mug.prizeId }), GrpcStatus.FAILED_PRECONDITION, 'EXCHANGE_LIMIT_REACHED');
    // c2's id, another prize: c2's own exchange (with c1's key it would be IDEMPOTENCY_KEY_REUSED).
    const other = await c2.exchangePrize({ requestId: unique('x'), openId: user, prizeId: cup.prizeId });
    expect(other.balanceAfter).to.equal('150');
    const replay = await c1.exchangePrize({ requestId, openId: user, prizeId: mug.prizeId });
    expect(replay.exchange?.exchangeId).to.equal(done.exchange?.exchangeId);
    // SendPrize under an id admin2 already used for ChangePoints is admin1's own operation.
    const sendId = unique('s');
    await change(admin2, sendId, user, CREDIT, '1');
    const gift = await savePrize(ctx().clients, { faceValue: '20' });
    const sent = await admin1.sendPrize({ requestId: sendId, openId: user, prizeId: gift.prizeId });
    expect(sent.balanceAfter).to.equal('131');
    await expectError(admin2.sendPrize({ requestId: sendId, openId: user, prizeId: gift.prizeId }), GrpcStatus.ALREADY_EXISTS, 'IDEMPOTENCY_KEY_REUSED');
    expect((await checkLedger(ctx().app.db.knex, user)).balance).to.equal(131);
  });

  it("a request id of the rows from before owners (owner '') is never replayed: used again it is the app's own operation", async () => {
    const user = unique('legacy');
    await change(admin1, unique('r'), user, CREDIT, '40');
    // As the migration leaves a debit of those days: owner '', the request id and its hash.
    const { knex } = ctx().app.db;
    const [lot] = (await knex('points_lots').where('open_id', user).select('id')) as Array<{ id: number | string }>;
    if (lot === undefined) throw new Error('no lot');
    await knex('points_accounts').where('open_id', user).update({ balance: knex.raw('balance - 15') });
    await knex('points_lots').where('id', lot.id).update({ remaining: knex.raw('remaining - 15') });
    const [recordId] = (await knex('points_changes').insert({
      owner: '',
      open_id: user,
      direction: 2,
      source: 'other',
      face_value: 15,
      balance_after: 25,
      description: '',
      change_id: '',
      prize_type: 'integral',
      task_title: '',
      created_at: 1,
      expires_at: null,
      request_id: 'old-debit',
      request_hash: 'whatever the previous release wrote',
      dedupe_key: null,
    })) as Array<number | string>;
    await knex('points_draws').insert({ record_id: recordId, lot_id: lot.id, amount: 15 });
    for (const client of [admin1, admin2]) {
      const r = await change(client, 'old-debit', user, DEBIT, '5');
      expect(r.record?.recordId).to.not.equal(String(recordId));
    }
    expect((await checkLedger(knex, user)).balance).to.equal(15);
  });

  it('acting for a legacy principal needs points.admin', async () => {
    const req = { requestId: 'x', openId: unique('iso'), direction: CREDIT, faceValue: '1', source: PointsSource.POINTS_SOURCE_OTHER };
    await expectError(c1.exchangePrize({ requestId: 'x', openId: req.openId, prizeId: 'p' }, { onBehalfOf: 'shop' }), GrpcStatus.PERMISSION_DENIED, 'SCOPE_MISSING');
    await expectError(admin1.changePoints(req, { onBehalfOf: 'bad name' }), GrpcStatus.INVALID_ARGUMENT, 'INVALID_ARGUMENT');
  });

  it("through the legacy REST bridge (the caller's own Bearer): the same requestId from two apps is two changes", async () => {
    const user = unique('bridge');
    const post = async (token: string, body: Record<string, unknown>): Promise<{ status: number; result: { id?: string; userRemainingPoints?: number } | null }> => {
      const res = await fetch(`${ctx().bridgeUrl}/points/changePoints`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const envelope = (await res.json()) as { result: { id?: string; userRemainingPoints?: number } | null };
      return { status: res.status, result: envelope.result };
    };
    const requestId = unique('legacy-key');
    const a = await post(token1, { requestId, openId: user, faceValue: 7, changeType: 'sign' });
    const b = await post(token2, { requestId, openId: user, faceValue: 9, changeType: 'sign' });
    expect([a.status, a.result?.userRemainingPoints]).to.deep.equal([200, 7]);
    expect([b.status, b.result?.userRemainingPoints]).to.deep.equal([200, 16]);
    const again = await post(token1, { requestId, openId: user, faceValue: 7, changeType: 'sign' });
    expect(again.result?.id).to.equal(a.result?.id);
    expect((await post(token2, { requestId, openId: user, faceValue: 7, changeType: 'sign' })).status).to.equal(409);
    expect((await checkLedger(ctx().app.db.knex, user)).balance).to.equal(16);
  });
});
