import { expect } from 'chai';
import { GrpcStatus } from '@huodong/clients';
import { describeEachStore } from '../../support/app.js';
import { expectError } from '../../support/errors.js';
import { MemberStore } from '../../../src/member/store.js';
import { tableCounts } from '../../support/member.js';
import { newUid } from './helpers.js';

describeEachStore('MemberService user lists', (ctx) => {
  const m = () => ctx().clients.member;
  let req = 0;

  it('BatchGetUserInfo answers every uid in order; unknown uids are zeros', async () => {
    const a = newUid();
    const b = newUid();
    await m().adminAddCpoint({ requestId: `b-${++req}`, uid: a, cpoint: '2.5', adminId: 'x' });
    const res = await m().batchGetUserInfo({ uids: [b, a, b] });
    expect(res.users).to.deep.equal([
      { uid: b, cpoint: '0.00', score: '0.00', grade: 0 },
      { uid: a, cpoint: '2.50', score: '0.00', grade: 0 },
      { uid: b, cpoint: '0.00', score: '0.00', grade: 0 },
    ]);
    const hundred = Array.from({ length: 100 }, (_, i) => `many-${i}`);
    expect((await m().batchGetUserInfo({ uids: hundred })).users).to.have.lengthOf(100);
  });

  it('parallel GetCpoint and BatchGetUserInfo calls (coalesced into shared queries) each answer their own users', async () => {
    const uids = Array.from({ length: 60 }, () => newUid());
    await Promise.all(uids.map((uid, i) => m().adminAddCpoint({ requestId: `p-${uid}`, uid, cpoint: String(i + 1), adminId: 'x' })));
    const [singles, batches] = await Promise.all([
      Promise.all(uids.map((uid) => m().getCpoint({ uid }))),
      Promise.all(uids.map((uid, i) => m().batchGetUserInfo({ uids: [uid, uids[(i + 1) % uids.length] ?? uid, 'nobody-here'] }))),
    ]);
    expect(singles.map((r) => r.cpoint)).to.deep.equal(uids.map((_, i) => `${i + 1}.00`));
    expect(batches.map((r) => r.users.map((u) => u.cpoint))).to.deep.equal(uids.map((_, i) => [`${i + 1}.00`, `${((i + 1) % 60) + 1}.00`, '0.00']));
    // uids match exactly on both stores: another case is another (here unknown) user.
    const shouted = (await m().getCpoint({ uid: uids[4]?.toUpperCase() })).cpoint;
    expect(shouted).to.equal('0.00');
  });

  it('refuses 0 or 101 uids and an empty uid, writing nothing', async () => {
    const before = await tableCounts(ctx());
    expect((await expectError(m().batchGetUserInfo({ uids: [] }), GrpcStatus.INVALID_ARGUMENT)).field).to.equal('uids');
    const many = Array.from({ length: 101 }, (_, i) => `u${i}`);
    expect((await expectError(m().batchGetUserInfo({ uids: many }), GrpcStatus.INVALID_ARGUMENT)).field).to.equal('uids');
    expect((await expectError(m().batchGetUserInfo({ uids: ['ok', ''] }), GrpcStatus.INVALID_ARGUMENT)).field).to.equal('uids');
    expect(await tableCounts(ctx())).to.deep.equal(before);
  });

  it('ListUsersSorted orders by c-points, score or grade, both ways, ties broken by uid, with pages', async () => {
    // Fresh data: users whose c-points tie in pairs.
    const knex = ctx().app.db.knex;
    await knex('member_users').delete();
    const rows = [
      { uid: 's-a', cpoint: 300, score: 10, grade: 1 },
      { uid: 's-b', cpoint: 100, score: 30, grade: 3 },
      { uid: 's-c', cpoint: 300, score: 20, grade: 2 },
      { uid: 's-d', cpoint: 200, score: 20, grade: 2 },
      { uid: 's-e', cpoint: 100, score: 40, grade: 3 },
    ];
    await knex('member_users').insert(rows.map((r) => ({ ...r, updated_at: 0 })));
    const uids = async (sortField: number, sortOrder: number, page = 1, limit = 20): Promise<string[]> =>
      (await m().listUsersSorted({ sortField, sortOrder, page, limit })).users.map((u) => u.uid);
    expect(await uids(2, 2)).to.deep.equal(['s-c', 's-a', 's-d', 's-e', 's-b']);
    expect(await uids(2, 1)).to.deep.equal(['s-b', 's-e', 's-d', 's-a', 's-c']);
    expect(await uids(1, 2)).to.deep.equal(['s-e', 's-b', 's-d', 's-c', 's-a']);
    expect(await uids(3, 1)).to.deep.equal(['s-a', 's-c', 's-d', 's-b', 's-e']);
    expect(await uids(2, 0), 'descending by default').to.deep.equal(['s-c', 's-a', 's-d', 's-e', 's-b']);
    expect(await uids(2, 2, 2, 2)).to.deep.equal(['s-d', 's-e']);
    expect(await uids(2, 2, 3, 2)).to.deep.equal(['s-b']);
    expect(await uids(2, 2, 4, 2)).to.deep.equal([]);
    const first = (await m().listUsersSorted({ sortField: 2, sortOrder: 2 })).users[0];
    expect(first).to.deep.equal({ uid: 's-c', cpoint: '3.00', score: '0.20', grade: 2 });
  });

  it('refuses limit 101, page 0 below, and no sort field, writing nothing', async () => {
    const before = await tableCounts(ctx());
    expect((await expectError(m().listUsersSorted({ sortField: 1, limit: 101 }), GrpcStatus.INVALID_ARGUMENT)).field).to.equal('limit');
    expect((await expectError(m().listUsersSorted({ sortField: 1, page: -1 }), GrpcStatus.INVALID_ARGUMENT)).field).to.equal('page');
    expect((await expectError(m().listUsersSorted({ sortField: 0 }), GrpcStatus.INVALID_ARGUMENT)).field).to.equal('sort_field');
    expect(await tableCounts(ctx())).to.deep.equal(before);
  });

  it('the sorted listing is served by a (field, uid) index, not a sort of the table', async () => {
    const knex = ctx().app.db.knex;
    const store = new MemberStore(knex, ctx().app.db.dialect);
    // A realistic table: on a handful of rows any optimizer rightly prefers a scan.
    const bulk = Array.from({ length: 5000 }, (_, i) => ({ uid: `bulk-${i}`, cpoint: (i * 7919) % 1000, score: (i * 104729) % 5000, grade: i % 7, updated_at: 0 }));
    for (let at = 0; at < bulk.length; at += 500) await knex('member_users').insert(bulk.slice(at, at + 500));
    await knex.raw(ctx().app.db.dialect === 'mysql' ? 'ANALYZE TABLE member_users' : 'ANALYZE');
    for (const field of ['score', 'cpoint', 'grade'] as const) {
      for (const direction of ['asc', 'desc'] as const) {
        const { sql, bindings } = store.explainUsersSorted(field, direction).toSQL();
        const index = `member_users_${field}_uid`;
        if (ctx().app.db.dialect === 'mysql') {
          const [plan] = (await knex.raw(`EXPLAIN ${sql}`, bindings)) as [Array<Record<string, unknown>>];
          const row = plan[0] ?? {};
          expect(row.key, `${field} ${direction}`).to.equal(index);
          expect(String(row.Extra ?? ''), `${field} ${direction}`).to.not.match(/filesort/i);
        } else {
          const plan = (await knex.raw(`EXPLAIN QUERY PLAN ${sql}`, bindings)) as Array<{ detail: string }>;
          const text = plan.map((p) => p.detail).join(' | ');
          expect(text, `${field} ${direction}`).to.include(index);
          expect(text, `${field} ${direction}`).to.not.include('TEMP B-TREE');
        }
      }
    }
  });
});
