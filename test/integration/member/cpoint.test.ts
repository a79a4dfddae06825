import { expect } from 'chai';
import { GrpcStatus, HuodongError } from '@huodong/clients';
import { describeEachStore, startSiblingApp } from '../../support/app.js';
import { FakeClock } from '../../support/clock.js';
import { expectError } from '../../support/errors.js';
import { tableCounts } from '../../support/member.js';
import { expectLedgerBalanced, newUid, retryBusy } from './helpers.js';
import { MemberService } from '../../../src/member/service.js';
import { MemberStore } from '../../../src/member/store.js';
import type { Locks } from '../../../src/platform/locks.js';
import { systemClock } from '../../../src/platform/clock.js';

/** No locking at all: what a lost or expired lock amounts to. */
const noLocks: Locks = { kind: 'local', withLock: (_key, fn) => fn(), close: () => Promise.resolve() };

describeEachStore('MemberService c-points and orders', (ctx) => {
  const m = () => ctx().clients.member;
  let key = 0;
  const rid = (): string => `req-${process.pid}-${++key}`;
  const fund = async (uid: string, cpoint: string): Promise<void> => {
    await m().adminAddCpoint({ requestId: rid(), uid, cpoint, adminId: 'admin-1' });
  };

  it('answers 0.00 for an unknown user', async () => {
    expect(await m().getCpoint({ uid: newUid() })).to.deep.equal({ cpoint: '0.00' });
  });

  it('admin add and reduce move the balance exactly, record admin_id, and replay by request_id', async () => {
    const uid = newUid();
    const first = rid();
    expect(await m().adminAddCpoint({ requestId: first, uid, cpoint: '10.10', adminId: 'ops-7', note: 'gift' })).to.deep.equal({ cpoint: '10.10' });
    expect(await m().adminAddCpoint({ requestId: first, uid, cpoint: '10.10', adminId: 'ops-7', note: 'gift' })).to.deep.equal({ cpoint: '10.10' });
    expect(await m().adminAddCpoint({ requestId: rid(), uid, cpoint: '0.2', adminId: 'ops-7' })).to.deep.equal({ cpoint: '10.30' });
    expect(await m().adminReduceCpoint({ requestId: rid(), uid, cpoint: '0.30', adminId: 'ops-8' })).to.deep.equal({ cpoint: '10.00' });
    expect(await m().getCpoint({ uid })).to.deep.equal({ cpoint: '10.00' });
    await expectError(m().adminAddCpoint({ requestId: first, uid, cpoint: '10.11', adminId: 'ops-7', note: 'gift' }), GrpcStatus.ALREADY_EXISTS, 'IDEMPOTENCY_KEY_REUSED');
    const rows = (await ctx().app.db.knex('member_journal').where({ uid }).orderBy('id')) as Array<Record<string, unknown>>;
    expect(rows.map((r) => [Number(r.amount), r.kind, r.operator])).to.deep.equal([
      [1010, 'admin_add', 'ops-7'],
      [20, 'admin_add', 'ops-7'],
      [-30, 'admin_reduce', 'ops-8'],
    ]);
    await expectLedgerBalanced(ctx(), uid);
  });

  it('a reduction never takes the balance below zero (INSUFFICIENT_CPOINT 10001); the refusal is the request id\'s final answer', async () => {
    const uid = newUid();
    await fund(uid, '1.00');
    const before = await tableCounts(ctx());
    const requestId = rid();
    const e = await expectError(m().adminReduceCpoint({ requestId, uid, cpoint: '1.01', adminId: 'a' }), GrpcStatus.FAILED_PRECONDITION, 'INSUFFICIENT_CPOINT');
    expect(e.legacyCode).to.equal('10001');
    // Only the refusal is kept, as the key's answer; no balance or journal row moved.
    expect(await tableCounts(ctx())).to.deep.equal({ ...before, member_requests: before.member_requests + 1 });
    expect((await m().getCpoint({ uid })).cpoint).to.equal('1.00');
    await fund(uid, '5.00');
    await expectError(m().adminReduceCpoint({ requestId, uid, cpoint: '1.01', adminId: 'a' }), GrpcStatus.FAILED_PRECONDITION, 'INSUFFICIENT_CPOINT');
    await expectError(m().adminReduceCpoint({ requestId, uid, cpoint: '1.02', adminId: 'a' }), GrpcStatus.ALREADY_EXISTS, 'IDEMPOTENCY_KEY_REUSED');
    expect((await m().getCpoint({ uid })).cpoint).to.equal('6.00');
    expect(await m().adminReduceCpoint({ requestId: rid(), uid, cpoint: '1.01', adminId: 'a' })).to.deep.equal({ cpoint: '4.99' });
    await expectLedgerBalanced(ctx(), uid);
  });

  it('ConsumeCpoint debits once per order id; a replay answers the first result; CheckConsume sees it', async () => {
    const uid = newUid();
    await fund(uid, '20.00');
    const orderId = `o-${uid}`;
    expect(await m().consumeCpoint({ orderId, uid, cpoint: '7.25' })).to.deep.equal({ orderId, cpoint: '12.75' });
    await m().consumeCpoint({ orderId: `${orderId}-b`, uid, cpoint: '1' });
    expect(await m().consumeCpoint({ orderId, uid, cpoint: '7.25' })).to.deep.equal({ orderId, cpoint: '12.75' });
    expect((await m().getCpoint({ uid })).cpoint).to.equal('11.75');
    await expectError(m().consumeCpoint({ orderId, uid, cpoint: '7.26' }), GrpcStatus.ALREADY_EXISTS, 'IDEMPOTENCY_KEY_REUSED');
    await expectError(m().consumeCpoint({ orderId, uid: newUid(), cpoint: '7.25' }), GrpcStatus.ALREADY_EXISTS, 'IDEMPOTENCY_KEY_REUSED');
    expect(await m().checkConsume({ orderId, uid })).to.deep.equal({ consumed: true });
    expect(await m().checkConsume({ orderId: 'never-seen', uid })).to.deep.equal({ consumed: false });
    expect(await m().checkConsume({ orderId, uid: 'someone-else' })).to.deep.equal({ consumed: false });
    expect((await m().getCpoint({ uid })).cpoint).to.equal('11.75');
    await expectLedgerBalanced(ctx(), uid);
  });

  it('an order refused for lack of c-points stays refused (10004 on revoke): a replay, even once funded, gets the refusal; a new order id pays', async () => {
    const uid = newUid();
    await fund(uid, '1.00');
    const orderId = `o-${uid}`;
    const e = await expectError(m().consumeCpoint({ orderId, uid, cpoint: '5' }), GrpcStatus.FAILED_PRECONDITION, 'INSUFFICIENT_CPOINT');
    expect(e.legacyCode).to.equal('10001');
    expect((await m().getCpoint({ uid })).cpoint).to.equal('1.00');
    expect((await m().checkConsume({ orderId, uid })).consumed).to.equal(false);
    const notPaid = await expectError(m().revokeConsume({ orderId, uid, cpoint: '5' }), GrpcStatus.FAILED_PRECONDITION, 'ORDER_NOT_PAID');
    expect(notPaid.legacyCode).to.equal('10004');
    await fund(uid, '4.00');
    await expectError(m().consumeCpoint({ orderId, uid, cpoint: '5' }), GrpcStatus.FAILED_PRECONDITION, 'INSUFFICIENT_CPOINT');
    await expectError(m().consumeCpoint({ orderId, uid, cpoint: '4' }), GrpcStatus.ALREADY_EXISTS, 'IDEMPOTENCY_KEY_REUSED');
    expect((await m().getCpoint({ uid })).cpoint).to.equal('5.00');
    expect((await m().checkConsume({ orderId, uid })).consumed).to.equal(false);
    expect(await m().consumeCpoint({ orderId: `${orderId}-2`, uid, cpoint: '5' })).to.deep.equal({ orderId: `${orderId}-2`, cpoint: '0.00' });
    await expectLedgerBalanced(ctx(), uid);
  });

  it('RevokeConsume refunds once, up to the amount paid (10003, 10007)', async () => {
    const uid = newUid();
    await fund(uid, '10.00');
    const orderId = `o-${uid}`;
    await m().consumeCpoint({ orderId, uid, cpoint: '4.00' });
    const unknown = await expectError(m().revokeConsume({ orderId: 'nope', uid, cpoint: '1' }), GrpcStatus.NOT_FOUND, 'ORDER_NOT_FOUND');
    expect(unknown.legacyCode).to.equal('10003');
    await expectError(m().revokeConsume({ orderId, uid: 'other-user', cpoint: '1' }), GrpcStatus.NOT_FOUND, 'ORDER_NOT_FOUND');
    const tooMuch = await expectError(m().revokeConsume({ orderId, uid, cpoint: '4.01' }), GrpcStatus.FAILED_PRECONDITION, 'ORDER_NOT_REVOCABLE');
    expect(tooMuch.legacyCode).to.equal('10007');
    expect(await m().revokeConsume({ orderId, uid, cpoint: '3.50' })).to.deep.equal({ orderId, cpoint: '9.50' });
    await expectError(m().revokeConsume({ orderId, uid, cpoint: '0.50' }), GrpcStatus.FAILED_PRECONDITION, 'ORDER_NOT_REVOCABLE');
    expect((await m().getCpoint({ uid })).cpoint).to.equal('9.50');
    expect((await m().checkConsume({ orderId, uid })).consumed).to.equal(true);
    // A replay of the consume still answers the first result, and does not pay again.
    expect(await m().consumeCpoint({ orderId, uid, cpoint: '4.00' })).to.deep.equal({ orderId, cpoint: '6.00' });
    expect((await m().getCpoint({ uid })).cpoint).to.equal('9.50');
    await expectLedgerBalanced(ctx(), uid);
  });

  it('ListOrders pages a user\'s orders newest first', async () => {
    const uid = newUid();
    await fund(uid, '100');
    for (let i = 1; i <= 5; i += 1) await m().consumeCpoint({ orderId: `${uid}-o${i}`, uid, cpoint: String(i) });
    await m().revokeConsume({ orderId: `${uid}-o2`, uid, cpoint: '2' });
    await m().consumeCpoint({ orderId: 'someone-elses', uid: newUid(), cpoint: '1' }).catch(() => undefined);
    const first = await m().listOrders({ uid, pageSize: 2 });
    expect(first.orders.map((o) => o.orderId)).to.deep.equal([`${uid}-o5`, `${uid}-o4`]);
    expect(first.nextPageToken).to.not.equal('');
    const second = await m().listOrders({ uid, pageSize: 2, pageToken: first.nextPageToken });
    expect(second.orders.map((o) => o.orderId)).to.deep.equal([`${uid}-o3`, `${uid}-o2`]);
    expect(second.orders[1]).to.include({ cpoint: '2.00', revokedCpoint: '2.00', status: 3 });
    const third = await m().listOrders({ uid, pageSize: 2, pageToken: second.nextPageToken });
    expect(third.orders.map((o) => o.orderId)).to.deep.equal([`${uid}-o1`]);
    expect(third.nextPageToken).to.equal('');
    const e = await expectError(m().listOrders({ uid, pageSize: 101 }), GrpcStatus.INVALID_ARGUMENT);
    expect(e.field).to.equal('page_size');
    await expectError(m().listOrders({ uid, pageToken: 'garbage' }), GrpcStatus.INVALID_ARGUMENT);
  });

  it('race: 200 concurrent consumes of 1.00 against 100.00 -> exactly 100 succeed, never negative, journal = balance', async () => {
    const uid = newUid('race');
    await fund(uid, '100.00');
    const stats = { busy: 0 };
    let sampling = true;
    const samples: number[] = [];
    const sampler = (async () => {
      while (sampling) {
        const row = (await ctx().app.db.knex('member_users').select('cpoint').where({ uid }).first()) as { cpoint: number | string };
        samples.push(Number(row.cpoint));
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const results = await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) => retryBusy(() => m().consumeCpoint({ orderId: `${uid}-${i}`, uid, cpoint: '1.00' }), stats)),
    );
    sampling = false;
    await sampler;
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok).to.have.lengthOf(100);
    expect(refused.map((r) => (r.reason as HuodongError).reason)).to.deep.equal(Array(100).fill('INSUFFICIENT_CPOINT'));
    expect((await m().getCpoint({ uid })).cpoint).to.equal('0.00');
    expect(samples.length).to.be.greaterThan(0);
    expect(Math.min(...samples)).to.be.at.least(0);
    expect(await expectLedgerBalanced(ctx(), uid)).to.equal(0);
    const paid = (await ctx().app.db.knex('member_orders').where({ uid, status: 2 }).count({ n: '*' }).first()) as { n: number | string };
    expect(Number(paid.n)).to.equal(100);
  });

  it('race: 50 concurrent replays of one order id -> one debit and 50 identical answers', async () => {
    const uid = newUid('replay');
    await fund(uid, '10.00');
    const orderId = `${uid}-once`;
    const answers = await Promise.all(Array.from({ length: 50 }, () => retryBusy(() => m().consumeCpoint({ orderId, uid, cpoint: '2.50' }))));
    expect(answers).to.deep.equal(Array(50).fill({ orderId, cpoint: '7.50' }));
    expect((await m().getCpoint({ uid })).cpoint).to.equal('7.50');
    const debits = (await ctx().app.db.knex('member_journal').where({ uid, kind: 'consume' }).count({ n: '*' }).first()) as { n: number | string };
    expect(Number(debits.n)).to.equal(1);
    await expectLedgerBalanced(ctx(), uid);
  });

  it('without any lock the database alone keeps the invariants (200 racing consumes, 40 racing replays)', async () => {
    const service = new MemberService({ store: new MemberStore(ctx().app.db), locks: noLocks, clock: systemClock, timeZone: 'Asia/Shanghai' });
    const uid = newUid('nolock');
    await fund(uid, '50.00');
    const results = await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) => service.consume({ orderId: `${uid}-${i % 160}`, uid, cpoint: '0.50' }, { owner: { id: 'test', seesLegacy: false }, source: 'test' })),
    );
    const reasons = results.map((r) => (r.status === 'fulfilled' ? 'OK' : String((r.reason as { reason?: string }).reason)));
    const paid = (await ctx().app.db.knex('member_orders').where({ uid, status: 2 }).count({ n: '*' }).first()) as { n: number | string };
    expect(Number(paid.n)).to.equal(100);
    expect(reasons.every((r) => r === 'OK' || r === 'INSUFFICIENT_CPOINT' || r === 'CONFLICT'), reasons.join(',')).to.equal(true);
    expect(await expectLedgerBalanced(ctx(), uid)).to.equal(0);
  });

  it('ConsumeCpoint answers ABORTED LOCK_BUSY (legacy 10000) while the user lock is held past the wait, writing nothing', async () => {
    const uid = newUid('busy');
    await fund(uid, '5');
    const orderId = `${uid}-busy`;
    const before = await tableCounts(ctx());
    // An instance with a 300 ms lock wait (HUODONG_LOCK_WAIT_MS; 2 s by default), and its own
    // locks under the key the service locks a user with: the call waits that out and gives up.
    const sibling = await startSiblingApp(ctx(), { env: { HUODONG_LOCK_WAIT_MS: '300' } });
    try {
      const member = sibling.clients.member;
      await sibling.app.locks.withLock(`member:user:${uid}`, async () => {
        const e = await expectError(member.consumeCpoint({ orderId, uid, cpoint: '1' }), GrpcStatus.ABORTED, 'LOCK_BUSY');
        expect(e.legacyCode).to.equal('10000');
        expect(e.metadata.legacy_code).to.equal('10000');
      });
      expect(await tableCounts(ctx())).to.deep.equal(before);
      // Once the lock is free the same order pays, once.
      expect(await member.consumeCpoint({ orderId, uid, cpoint: '1' })).to.deep.equal({ orderId, cpoint: '4.00' });
    } finally {
      await sibling.stop();
    }
    await expectLedgerBalanced(ctx(), uid);
  });

  describe('bad input writes nothing and names the field', () => {
    it('cpoint 0, negative, 3 decimals, words, above 1e12; empty uid, order id, admin id', async () => {
      const uid = newUid();
      await fund(uid, '5');
      const before = await tableCounts(ctx());
      for (const cpoint of ['0', '0.00', '-1', '1.001', 'abc', '1000000000000.01', '1e3', '']) {
        const e1 = await expectError(m().consumeCpoint({ orderId: `bad-${cpoint}`, uid, cpoint }), GrpcStatus.INVALID_ARGUMENT);
        expect(e1.field, cpoint).to.equal('cpoint');
        const e2 = await expectError(m().adminAddCpoint({ requestId: rid(), uid, cpoint, adminId: 'a' }), GrpcStatus.INVALID_ARGUMENT);
        expect(e2.field, cpoint).to.equal('cpoint');
        const e3 = await expectError(m().adminReduceCpoint({ requestId: rid(), uid, cpoint, adminId: 'a' }), GrpcStatus.INVALID_ARGUMENT);
        expect(e3.field, cpoint).to.equal('cpoint');
      }
      expect((await expectError(m().consumeCpoint({ orderId: 'x', uid: '', cpoint: '1' }), GrpcStatus.INVALID_ARGUMENT)).field).to.equal('uid');
      expect((await expectError(m().consumeCpoint({ orderId: '', uid, cpoint: '1' }), GrpcStatus.INVALID_ARGUMENT)).field).to.equal('order_id');
      expect((await expectError(m().consumeCpoint({ orderId: 'x'.repeat(129), uid, cpoint: '1' }), GrpcStatus.INVALID_ARGUMENT)).field).to.equal('order_id');
      expect((await expectError(m().getCpoint({ uid: 'u'.repeat(65) }), GrpcStatus.INVALID_ARGUMENT)).field).to.equal('uid');
      expect((await expectError(m().adminAddCpoint({ requestId: rid(), uid, cpoint: '1', adminId: '' }), GrpcStatus.INVALID_ARGUMENT)).field).to.equal('admin_id');
      expect((await expectError(m().adminAddCpoint({ requestId: '', uid, cpoint: '1', adminId: 'a' }), GrpcStatus.INVALID_ARGUMENT)).field).to.equal('request_id');
      expect((await expectError(m().revokeConsume({ orderId: 'x', uid, cpoint: '-1' }), GrpcStatus.INVALID_ARGUMENT)).field).to.equal('cpoint');
      expect(await tableCounts(ctx())).to.deep.equal(before);
      expect((await m().getCpoint({ uid })).cpoint).to.equal('5.00');
    });
  });

  describe('auth', () => {
    it('admin RPCs need member.admin; user RPCs need member', async () => {
      const { clients } = await ctx().clientsWithScopes(['member']);
      const uid = newUid();
      const e = await expectError(clients.member.adminAddCpoint({ requestId: rid(), uid, cpoint: '1', adminId: 'a' }), GrpcStatus.PERMISSION_DENIED, 'SCOPE_MISSING');
      expect(e.metadata.scope).to.equal('member.admin');
      expect((await clients.member.getCpoint({ uid })).cpoint).to.equal('0.00');
      const other = await ctx().clientsWithScopes(['userdata']);
      await expectError(other.clients.member.getCpoint({ uid }), GrpcStatus.PERMISSION_DENIED);
      await expectError(ctx().clientsWithToken(undefined).member.getCpoint({ uid }), GrpcStatus.UNAUTHENTICATED);
    });

    it('AdminReduceCpoint needs member.admin too, and a refused reduction writes nothing', async () => {
      const uid = newUid();
      await fund(uid, '3');
      const { clients } = await ctx().clientsWithScopes(['member']);
      const before = await tableCounts(ctx());
      const e = await expectError(clients.member.adminReduceCpoint({ requestId: rid(), uid, cpoint: '1', adminId: 'a' }), GrpcStatus.PERMISSION_DENIED, 'SCOPE_MISSING');
      expect(e.metadata.scope).to.equal('member.admin');
      expect(await tableCounts(ctx())).to.deep.equal(before);
      expect((await m().getCpoint({ uid })).cpoint).to.equal('3.00');
    });
  });

  describe('kill switch', () => {
    it('an operator closes one RPC (API_CLOSED 10100) without a restart, and opens it again', async () => {
      const uid = newUid();
      await fund(uid, '3');
      const operator = await ctx().clientsWithScopes(['member.admin']);
      const closed = await operator.clients.member.setApiSwitch({ method: 'ConsumeCpoint', closed: true });
      expect(closed.apiSwitch).to.include({ method: 'ConsumeCpoint', closed: true });
      const e = await expectError(m().consumeCpoint({ orderId: `${uid}-k`, uid, cpoint: '1' }), GrpcStatus.FAILED_PRECONDITION, 'API_CLOSED');
      expect(e.legacyCode).to.equal('10100');
      expect((await m().getCpoint({ uid })).cpoint).to.equal('3.00');
      const list = await operator.clients.member.listApiSwitches({});
      expect(list.apiSwitches.map((s) => [s.method, s.closed])).to.deep.include(['ConsumeCpoint', true]);
      await operator.clients.member.setApiSwitch({ method: 'ConsumeCpoint', closed: false });
      expect(await m().consumeCpoint({ orderId: `${uid}-k`, uid, cpoint: '1' })).to.deep.equal({ orderId: `${uid}-k`, cpoint: '2.00' });
    });

    it('a switch flipped straight in the table takes effect within the cache TTL', async () => {
      const uid = newUid();
      // An instance on a clock the test moves past the cache's TTL (1 s), its switches cached first.
      const clock = new FakeClock(new Date());
      const sibling = await startSiblingApp(ctx(), { clock });
      try {
        const member = sibling.clients.member;
        expect((await member.getCpoint({ uid })).cpoint).to.equal('0.00');
        await ctx().app.db.knex('member_api_switches').insert({ method: 'GetCpoint', closed: true, updated_by: 'dba', updated_at: 0 });
        clock.advance(1_100);
        await expectError(member.getCpoint({ uid }), GrpcStatus.FAILED_PRECONDITION, 'API_CLOSED');
        await member.setApiSwitch({ method: 'GetCpoint', closed: false });
        expect((await member.getCpoint({ uid })).cpoint).to.equal('0.00');
      } finally {
        await sibling.stop();
      }
    });

    it('refuses unknown method names and closing the switch RPCs themselves', async () => {
      expect((await expectError(m().setApiSwitch({ method: 'NoSuchRpc', closed: true }), GrpcStatus.INVALID_ARGUMENT)).field).to.equal('method');
      await expectError(m().setApiSwitch({ method: 'SetApiSwitch', closed: true }), GrpcStatus.INVALID_ARGUMENT);
    });
  });
});
