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

  it('ListUsersSorted pages by page_token in every order: each user once, as the page numbers list them, ties included', async () => {
    const knex = ctx().app.db.knex;
    await knex('member_users').delete();
    // 57 users, their values tied in small groups so pages end inside ties.
    const rows = Array.from({ length: 57 }, (_, i) => ({ uid: `k-${String((i * 37) % 57).padStart(2, '0')}`, cpoint: (i * 7) % 5, score: (i * 11) % 13, grade: i % 3 }));
    await knex('member_users').insert(rows.map((r) => ({ ...r, updated_at: 0 })));
    const fields = { 1: 'score', 2: 'cpoint', 3: 'grade' } as const;
    for (const sortField of [1, 2, 3] as const) {
      for (const sortOrder of [1, 2] as const) {
        const key = fields[sortField];
        const sign = sortOrder === 1 ? 1 : -1;
        const expected = [...rows].sort((a, b) => sign * (a[key] - b[key] || (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0))).map((r) => r.uid);
        const byPage: string[] = [];
        for (let page = 1; page <= 9; page += 1) byPage.push(...(await m().listUsersSorted({ sortField, sortOrder, page, limit: 7 })).users.map((u) => u.uid));
        const byToken: string[] = [];
        let token = '';
        let pages = 0;
        do {
          const res = await m().listUsersSorted({ sortField, sortOrder, limit: 7, pageToken: token });
          byToken.push(...res.users.map((u) => u.uid));
          token = res.nextPageToken;
          pages += 1;
        } while (token !== '' && pages < 20);
        expect(byPage, `${key} ${sortOrder} by page`).to.deep.equal(expected);
        expect(byToken, `${key} ${sortOrder} by token`).to.deep.equal(expected);
        expect(pages, 'the last page (57 = 8 x 7 + 1) names no next page').to.equal(9);
        // A legacy page's token continues where that page ends.
        const third = await m().listUsersSorted({ sortField, sortOrder, page: 3, limit: 7 });
        const fourth = await m().listUsersSorted({ sortField, sortOrder, page: 1, limit: 7, pageToken: third.nextPageToken });
        expect(fourth.users.map((u) => u.uid), `${key} ${sortOrder} after page 3`).to.deep.equal(expected.slice(21, 28));
      }
    }
    const full = await m().listUsersSorted({ sortField: 2, limit: 57 });
    expect(full.users).to.have.lengthOf(57);
    expect(full.nextPageToken, 'a page that ends the listing names no next page').to.equal('');
  });

  it('refuses a page_token that is not one, or that belongs to another order, and a page past 1 with a token, writing nothing', async () => {
    const knex = ctx().app.db.knex;
    await knex('member_users').delete();
    await knex('member_users').insert(['t-a', 't-b', 't-c'].map((uid, i) => ({ uid, cpoint: i, score: i, grade: i, updated_at: 0 })));
    const before = await tableCounts(ctx());
    const { nextPageToken } = await m().listUsersSorted({ sortField: 1, sortOrder: 2, limit: 1 });
    expect(nextPageToken).to.not.equal('');
    const refused = async (request: Parameters<ReturnType<typeof m>['listUsersSorted']>[0]): Promise<string | undefined> =>
      (await expectError(m().listUsersSorted(request), GrpcStatus.INVALID_ARGUMENT)).field;
    expect(await refused({ sortField: 1, sortOrder: 2, pageToken: 'not-a-token' })).to.equal('page_token');
    expect(await refused({ sortField: 1, sortOrder: 2, pageToken: Buffer.from('u:score:desc:1e3:t-a').toString('base64url') })).to.equal('page_token');
    expect(await refused({ sortField: 2, sortOrder: 2, pageToken: nextPageToken })).to.equal('page_token');
    expect(await refused({ sortField: 1, sortOrder: 1, pageToken: nextPageToken })).to.equal('page_token');
    expect(await refused({ sortField: 1, sortOrder: 2, page: 2, pageToken: nextPageToken })).to.equal('page');
    expect((await m().listUsersSorted({ sortField: 1, sortOrder: 2, limit: 1, pageToken: nextPageToken })).users.map((u) => u.uid)).to.deep.equal(['t-b']);
    expect(await tableCounts(ctx())).to.deep.equal(before);
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
    const store = new MemberStore(ctx().app.db);
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
        // A page_token's page seeks into the same index: a range read in index order, whose
        // cost does not depend on how deep the page is.
        const after = store.usersSortedAfter(field, direction, { value: { score: 2500, cpoint: 500, grade: 3 }[field], uid: 'bulk-2500' }, 21).toSQL();
        if (ctx().app.db.dialect === 'mysql') {
          const [plan] = (await knex.raw(`EXPLAIN ${after.sql}`, after.bindings)) as [Array<Record<string, unknown>>];
          const row = plan[0] ?? {};
          expect(row.key, `${field} ${direction} after`).to.equal(index);
          expect(row.type, `${field} ${direction} after`).to.equal('range');
          expect(String(row.Extra ?? ''), `${field} ${direction} after`).to.not.match(/filesort/i);
        } else {
          const plan = (await knex.raw(`EXPLAIN QUERY PLAN ${after.sql}`, after.bindings)) as Array<{ detail: string }>;
          const text = plan.map((p) => p.detail).join(' | ');
          expect(text, `${field} ${direction} after`).to.match(new RegExp(`SEARCH .*${index} .*\\(\\(${field},uid\\)[<>]\\(\\?,\\?\\)\\)`));
          expect(text, `${field} ${direction} after`).to.not.include('TEMP B-TREE');
        }
      }
    }
  });
});
