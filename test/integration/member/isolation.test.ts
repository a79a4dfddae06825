/**
 * Orders and request ids belong to the app that used them (issue 13 item 2): another app
 * neither sees nor changes them, and the same key used by two apps is two operations. Rows
 * from before keys had owners (owner '') are seen by member.admin apps only.
 */
import { expect } from 'chai';
import { GrpcStatus, type Clients } from '@huodong/clients';
import { describeEachStore } from '../../support/app.js';
import { expectError } from '../../support/errors.js';
import { expectLedgerBalanced, newUid } from './helpers.js';
import { signRequest } from '../../../src/member/bridge.js';

describeEachStore('MemberService keys per app', (ctx) => {
  let m1: Clients['member'];
  let m2: Clients['member'];
  let admin1: Clients['member'];
  let admin2: Clients['member'];
  let key = 0;
  const rid = (): string => `iso-${process.pid}-${++key}`;

  before(async () => {
    m1 = (await ctx().clientsWithScopes(['member'])).clients.member;
    m2 = (await ctx().clientsWithScopes(['member'])).clients.member;
    admin1 = (await ctx().clientsWithScopes(['member', 'member.admin'])).clients.member;
    admin2 = (await ctx().clientsWithScopes(['member', 'member.admin'])).clients.member;
  });

  const fund = async (uid: string, cpoint: string): Promise<void> => {
    await admin1.adminAddCpoint({ requestId: rid(), uid, cpoint, adminId: 'ops' });
  };

  it("another app neither sees, replays nor refunds an app's order; the same order id is its own order there", async () => {
    const uid = newUid('iso');
    await fund(uid, '20.00');
    const orderId = `shop-1-${uid}`;
    expect(await m1.consumeCpoint({ orderId, uid, cpoint: '5.00' })).to.deep.equal({ orderId, cpoint: '15.00' });
    expect(await m2.checkConsume({ orderId, uid })).to.deep.equal({ consumed: false });
    await expectError(m2.revokeConsume({ orderId, uid, cpoint: '5.00' }), GrpcStatus.NOT_FOUND, 'ORDER_NOT_FOUND');
    expect((await m2.listOrders({ uid })).orders).to.deep.equal([]);
    // Not m1's answer: a payment of m2's own order of that id, with other amounts allowed.
    expect(await m2.consumeCpoint({ orderId, uid, cpoint: '2.00' })).to.deep.equal({ orderId, cpoint: '13.00' });
    expect(await m2.consumeCpoint({ orderId, uid, cpoint: '2.00' })).to.deep.equal({ orderId, cpoint: '13.00' });
    expect(await m2.revokeConsume({ orderId, uid, cpoint: '2.00' })).to.deep.equal({ orderId, cpoint: '15.00' });
    // m1's order is untouched: still consumed, still revocable once, by m1.
    expect(await m1.checkConsume({ orderId, uid })).to.deep.equal({ consumed: true });
    expect(await m1.consumeCpoint({ orderId, uid, cpoint: '5.00' })).to.deep.equal({ orderId, cpoint: '15.00' });
    expect((await m1.listOrders({ uid })).orders.map((o) => [o.orderId, o.cpoint, o.status])).to.deep.equal([[orderId, '5.00', 2]]);
    expect(await m1.revokeConsume({ orderId, uid, cpoint: '5.00' })).to.deep.equal({ orderId, cpoint: '20.00' });
    await expectLedgerBalanced(ctx(), uid);
  });

  it('an admin request id and a task request id used by two apps are two operations', async () => {
    const uid = newUid('iso');
    const requestId = rid();
    expect(await admin1.adminAddCpoint({ requestId, uid, cpoint: '3.00', adminId: 'a' })).to.deep.equal({ cpoint: '3.00' });
    // Other parameters are fine: it is not admin1's key.
    expect(await admin2.adminAddCpoint({ requestId, uid, cpoint: '4.00', adminId: 'b' })).to.deep.equal({ cpoint: '7.00' });
    expect(await admin1.adminAddCpoint({ requestId, uid, cpoint: '3.00', adminId: 'a' })).to.deep.equal({ cpoint: '3.00' });
    await expectError(admin1.adminReduceCpoint({ requestId: 'r', uid, cpoint: '9.00', adminId: 'a' }), GrpcStatus.FAILED_PRECONDITION, 'INSUFFICIENT_CPOINT');
    // admin1's refusal of "r" is admin1's: admin2's "r" runs.
    expect(await admin2.adminReduceCpoint({ requestId: 'r', uid, cpoint: '1.00', adminId: 'b' })).to.deep.equal({ cpoint: '6.00' });

    await admin1.updateTaskConfig({ task: { id: 900_001, op: `iso-${uid}`, name: 'iso', cpoint: '1', score: '1', status: 0, rFlag: 0, rRatio: 0, desc: '', stepScore: '', stepCpoint: '', rCpoint: '-1', rScore: '-1', rFilter: 0, rStep: 0, sTime: undefined, eTime: undefined, uTime: undefined } });
    const task = { requestId: `task-${uid}`, uid, op: `iso-${uid}`, target: '', times: 1 };
    expect(await m1.submitTask(task)).to.include({ code: 0, cpoint: '1.00', newCpoint: '7.00' });
    expect(await m2.submitTask(task)).to.include({ code: 0, cpoint: '1.00', newCpoint: '8.00' });
    expect(await m1.submitTask(task)).to.include({ code: 0, newCpoint: '7.00' });
    await expectLedgerBalanced(ctx(), uid);
  });

  it("orders of before owners (owner '') are seen and refunded by member.admin apps only, and never replayed", async () => {
    const uid = newUid('legacy');
    await fund(uid, '10.00');
    const orderId = `old-${uid}`;
    // As the migration leaves a paid order of those days: owner '', with its journal row.
    const { knex } = ctx().app.db;
    await knex('member_users').where({ uid }).update({ cpoint: knex.raw('cpoint - 300') });
    await knex('member_orders').insert({ owner: '', order_id: orderId, uid, cpoint: 300, status: 2, revoked_cpoint: 0, balance_after: 700, created_at: 1, updated_at: 1 });
    await knex('member_journal').insert({ owner: '', uid, amount: -300, score: 0, balance_after: 700, kind: 'consume', ref: orderId, source: 'shop', operator: '', note: '', created_at: 1 });

    expect(await m1.checkConsume({ orderId, uid })).to.deep.equal({ consumed: false });
    expect((await m1.listOrders({ uid })).orders).to.deep.equal([]);
    await expectError(m1.revokeConsume({ orderId, uid, cpoint: '3.00' }), GrpcStatus.NOT_FOUND, 'ORDER_NOT_FOUND');
    expect(await admin1.checkConsume({ orderId, uid })).to.deep.equal({ consumed: true });
    expect((await admin2.listOrders({ uid })).orders.map((o) => o.orderId)).to.deep.equal([orderId]);
    expect(await admin2.revokeConsume({ orderId, uid, cpoint: '3.00' })).to.deep.equal({ orderId, cpoint: '10.00' });
    await expectError(admin1.revokeConsume({ orderId, uid, cpoint: '3.00' }), GrpcStatus.FAILED_PRECONDITION, 'ORDER_NOT_REVOCABLE');
    await expectLedgerBalanced(ctx(), uid);
  });

  it('acting for a legacy app needs member.admin', async () => {
    const uid = newUid('iso');
    await expectError(m1.consumeCpoint({ orderId: 'x', uid, cpoint: '1' }, { onBehalfOf: 'shop' }), GrpcStatus.PERMISSION_DENIED, 'SCOPE_MISSING');
    await expectError(admin1.consumeCpoint({ orderId: 'x', uid, cpoint: '1' }, { onBehalfOf: 'bad name' }), GrpcStatus.INVALID_ARGUMENT, 'INVALID_ARGUMENT');
  });

  describe('through the legacy REST bridge', () => {
    let shopA: { appName: string; secret: string };
    let shopB: { appName: string; secret: string };
    const post = async (path: string, params: Record<string, string>, app: { appName: string; secret: string }): Promise<{ status: number; data: unknown }> => {
      const full = { ...params, appName: app.appName, ts: String(Math.floor(Date.now() / 1000)) };
      const res = await fetch(`${ctx().bridgeUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...full, sig: signRequest('POST', path, full, app.secret) }),
      });
      return (await res.json()) as { status: number; data: unknown };
    };

    before(async () => {
      shopA = await admin1.createLegacyApp({ appName: `shopA-${process.pid}`, admin: false });
      shopB = await admin1.createLegacyApp({ appName: `shopB-${process.pid}`, admin: false });
    });

    it("orders belong to the signing legacy app: another legacy app or a gRPC app neither sees nor refunds them", async () => {
      const uid = newUid('bridge');
      await fund(uid, '10.00');
      const orderId = `mall-${uid}`;
      expect(await post('/cm/inner/useCpoint/consume', { orderId, uid, cpoint: '4' }, shopA)).to.deep.include({ status: 200, data: { cpoint: 6, id: orderId } });
      expect((await post('/cm/inner/order/checkConsumeIsSucc', { orderId, uid }, shopA)).data).to.deep.equal({ result: 1 });
      expect((await post('/cm/inner/order/checkConsumeIsSucc', { orderId, uid }, shopB)).data).to.deep.equal({ result: 0 });
      expect((await post('/cm/inner/useCpoint/revoke', { orderId, uid, cpoint: '4' }, shopB)).status).to.equal(10003);
      expect(await m1.checkConsume({ orderId, uid })).to.deep.equal({ consumed: false });
      // Not even a member.admin app: the order is shopA's, not a row of before owners.
      expect(await admin1.checkConsume({ orderId, uid })).to.deep.equal({ consumed: false });
      // The same order id from shopB is shopB's own payment.
      expect(await post('/cm/inner/useCpoint/consume', { orderId, uid, cpoint: '1' }, shopB)).to.deep.include({ status: 200, data: { cpoint: 5, id: orderId } });
      // And the legacy app's orders are the same over gRPC for a caller acting for it.
      expect(await admin1.checkConsume({ orderId, uid }, { onBehalfOf: shopA.appName })).to.deep.equal({ consumed: true });
      const journal = (await ctx().app.db.knex('member_journal').where({ uid, kind: 'consume' }).orderBy('id').select('owner', 'source')) as Array<{ owner: string; source: string }>;
      expect(journal).to.deep.equal([
        { owner: `legacy:${shopA.appName}`, source: `legacy:${shopA.appName}` },
        { owner: `legacy:${shopB.appName}`, source: `legacy:${shopB.appName}` },
      ]);
      await expectLedgerBalanced(ctx(), uid);
    });
  });
});
