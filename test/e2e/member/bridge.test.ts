import { expect } from 'chai';
import { describeEachStore, startSiblingApp, type TestApp } from '../../support/app.js';
import { tableCounts } from '../../support/member.js';
import { signRequest } from '../../../src/member/bridge.js';

type Params = Record<string, string | number>;
interface Envelope {
  status: number;
  message: string;
  serverTime: number;
  data: unknown;
  reason?: string;
}

describeEachStore('MemberService legacy REST bridge', (ctx) => {
  let shop: { appName: string; secret: string };
  let ops: { appName: string; secret: string };
  let seq = 0;
  const uid = (): string => `legacy-${process.pid}-${++seq}`;
  const now = (): number => Math.floor(Date.now() / 1000);
  const key = (): string => `req-${process.pid}-${++seq}`;

  before(async () => {
    const m = ctx().clients.member;
    shop = await m.createLegacyApp({ appName: 'shop', admin: false });
    ops = await m.createLegacyApp({ appName: 'ops', admin: true });
  });

  const post = async (
    path: string,
    params: Params,
    app = shop,
    options: { json?: boolean; sig?: string; ts?: number; via?: TestApp } = {},
  ): Promise<{ http: number; body: Envelope }> => {
    const full: Params = { ...params, appName: app.appName, ts: options.ts ?? now() };
    const sig = options.sig ?? signRequest('POST', path, full, app.secret);
    const payload = { ...full, sig };
    const res = await fetch(`${(options.via ?? ctx()).bridgeUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': options.json ? 'application/json' : 'application/x-www-form-urlencoded' },
      body: options.json ? JSON.stringify(payload) : new URLSearchParams(Object.entries(payload).map(([k, v]) => [k, String(v)])).toString(),
    });
    return { http: res.status, body: (await res.json()) as Envelope };
  };

  it('walks the c-point routes with the seed envelope, urlencoded and JSON', async () => {
    const u = uid();
    const add = await post('/cm/inner/user/adminAddCpoint', { requestId: key(), uid: u, cpoint: '100', adminId: 'ops-1' }, ops);
    expect(add.body).to.deep.include({ status: 200, message: '', data: { cpoint: 100, result: 1 } });
    expect(add.body.serverTime).to.be.closeTo(now(), 5);
    expect((await post('/cm/inner/user/getCpoint', { uid: u })).body.data).to.deep.equal({ cpoint: 100 });
    const consume = await post('/cm/inner/useCpoint/consume', { orderId: `mall_${u}`, uid: u, cpoint: '12.5' }, shop, { json: true });
    expect(consume.body).to.deep.include({ status: 200, data: { cpoint: 87.5, id: `mall_${u}` } });
    expect((await post('/cm/inner/order/checkConsumeIsSucc', { orderId: `mall_${u}`, uid: u })).body.data).to.deep.equal({ result: 1 });
    expect((await post('/cm/inner/order/checkConsumeIsSucc', { orderId: 'nope', uid: u })).body.data).to.deep.equal({ result: 0 });
    expect((await post('/cm/inner/useCpoint/revoke', { orderId: `mall_${u}`, uid: u, cpoint: '12.5' })).body.data).to.deep.equal({ id: `mall_${u}` });
    const list = await post('/cm/inner/order/list', { uid: u, limit: 10 });
    expect(list.body.data).to.deep.include({ nextPageToken: '' });
    expect((list.body.data as { orders: Array<Record<string, unknown>> }).orders[0]).to.include({ id: `mall_${u}`, cpoint: 12.5, status: 'revoked', revokedCpoint: 12.5 });
    const reduce = await post('/cm/inner/user/adminReduceCpoint', { requestId: key(), uid: u, cpoint: '0.5', adminId: 'ops-1' }, ops);
    expect(reduce.body.data).to.deep.equal({ cpoint: 99.5, result: 1 });
  });

  it('answers seed error codes in the envelope: 10001, 10003, 10007', async () => {
    const u = uid();
    const poor = await post('/cm/inner/useCpoint/consume', { orderId: `o-${u}`, uid: u, cpoint: '1' });
    expect(poor.http).to.equal(200);
    expect(poor.body).to.include({ status: 10001, reason: 'INSUFFICIENT_CPOINT' });
    expect((await post('/cm/inner/useCpoint/revoke', { orderId: `x-${u}`, uid: u, cpoint: '1' })).body.status).to.equal(10003);
    await post('/cm/inner/user/adminAddCpoint', { requestId: key(), uid: u, cpoint: '5', adminId: 'a' }, ops);
    await post('/cm/inner/useCpoint/consume', { orderId: `p-${u}`, uid: u, cpoint: '1' });
    expect((await post('/cm/inner/useCpoint/revoke', { orderId: `p-${u}`, uid: u, cpoint: '2' })).body.status).to.equal(10007);
  });

  it('refuses a forged, stale, future or missing signature and unknown apps, writing nothing', async () => {
    const u = uid();
    const params = { uid: u, cpoint: '5', adminId: 'a' };
    const before = await tableCounts(ctx());
    const forged = await post('/cm/inner/user/adminAddCpoint', params, ops, { sig: signRequest('POST', '/cm/inner/user/adminAddCpoint', { ...params, appName: 'ops', ts: now() }, shop.secret) });
    expect(forged.http).to.equal(401);
    expect(forged.body).to.include({ status: 401, reason: 'BAD_SIGNATURE' });
    const stale = await post('/cm/inner/user/adminAddCpoint', params, ops, { ts: now() - 301 });
    expect(stale.body.status).to.equal(401);
    expect(stale.body.message).to.match(/300 s/);
    expect((await post('/cm/inner/user/adminAddCpoint', params, ops, { ts: now() + 400 })).body.status).to.equal(401);
    expect((await post('/cm/inner/user/adminAddCpoint', params, { appName: 'ghost', secret: ops.secret })).body.status).to.equal(401);
    const res = await fetch(`${ctx().bridgeUrl}/cm/inner/user/getCpoint`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uid: u, appName: 'shop', ts: now() }),
    });
    expect(res.status).to.equal(401);
    // A tampered parameter after signing.
    const full = { ...params, appName: 'ops', ts: now() };
    const sig = signRequest('POST', '/cm/inner/user/adminAddCpoint', full, ops.secret);
    const tampered = await fetch(`${ctx().bridgeUrl}/cm/inner/user/adminAddCpoint`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...full, cpoint: '500', sig }),
    });
    expect(tampered.status).to.equal(401);
    expect(await tableCounts(ctx())).to.deep.equal(before);
    expect((await ctx().clients.member.getCpoint({ uid: u })).cpoint).to.equal('0.00');
  });

  it('admin routes need an admin legacy app', async () => {
    const u = uid();
    const res = await post('/cm/inner/user/adminAddCpoint', { requestId: key(), uid: u, cpoint: '5', adminId: 'a' }, shop);
    expect(res.http).to.equal(403);
    expect(res.body.status).to.equal(403);
    const task = await post('/cm/inner/cnf/taskCnfUpdate', { id: 1, op: 'x', score: 1, cpoint: 1, status: 0 }, shop);
    expect(task.body.status).to.equal(403);
    expect((await ctx().clients.member.getCpoint({ uid: u })).cpoint).to.equal('0.00');
  });

  it('a replayed signed admin request credits once, and its key is required', async () => {
    const u = uid();
    const ts = now();
    const requestId = key();
    const first = await post('/cm/inner/user/adminAddCpoint', { requestId, uid: u, cpoint: '5', adminId: 'a' }, ops, { ts });
    const again = await post('/cm/inner/user/adminAddCpoint', { requestId, uid: u, cpoint: '5', adminId: 'a' }, ops, { ts });
    expect(again.body.data).to.deep.equal(first.body.data);
    expect((await ctx().clients.member.getCpoint({ uid: u })).cpoint).to.equal('5.00');
    // Issue 14 item 2: two identical signed credits without a key both answered success and
    // credited once (key `legacy-<sig>`); now the caller's own key is required.
    for (const path of ['/cm/inner/user/adminAddCpoint', '/cm/inner/user/adminReduceCpoint', '/cm/inner/task/submit']) {
      const keyless = await post(path, { uid: u, cpoint: '1', adminId: 'a', op: 'share' }, ops, { ts });
      expect(keyless.http, path).to.equal(400);
      expect(keyless.body.message, path).to.match(/^requestId: is required/);
    }
    expect((await ctx().clients.member.getCpoint({ uid: u })).cpoint).to.equal('5.00');
  });

  it('a signature is bound to its route: consume bytes sent to revoke do not refund (issue 14 item 2)', async () => {
    const u = uid();
    await post('/cm/inner/user/adminAddCpoint', { requestId: key(), uid: u, cpoint: '10', adminId: 'a' }, ops);
    const params = { orderId: `o-${u}`, uid: u, cpoint: '4', appName: shop.appName, ts: now() };
    const sig = signRequest('POST', '/cm/inner/useCpoint/consume', params, shop.secret);
    const send = async (path: string): Promise<{ http: number; body: Envelope }> => {
      const res = await fetch(`${ctx().bridgeUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...params, sig }),
      });
      return { http: res.status, body: (await res.json()) as Envelope };
    };
    expect((await send('/cm/inner/useCpoint/consume')).body).to.deep.include({ status: 200, data: { cpoint: 6, id: `o-${u}` } });
    const repointed = await send('/cm/inner/useCpoint/revoke');
    expect(repointed.http).to.equal(401);
    expect(repointed.body.reason).to.equal('BAD_SIGNATURE');
    expect((await ctx().clients.member.getCpoint({ uid: u })).cpoint).to.equal('6.00');
  });

  it('a parameter moved into another value breaks the signature (issue 14 item 2)', async () => {
    const u = uid();
    const [k0, k1] = [key(), key()];
    const signed = { uid: u, cpoint: '5', adminId: 'a', note: `n&requestId=${k1}`, requestId: k0, appName: ops.appName, ts: now() };
    const sig = signRequest('POST', '/cm/inner/user/adminAddCpoint', signed, ops.secret);
    const send = async (body: Record<string, string | number>): Promise<number> => {
      const res = await fetch(`${ctx().bridgeUrl}/cm/inner/user/adminAddCpoint`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...body, sig }),
      });
      return res.status;
    };
    expect(await send(signed)).to.equal(200);
    // Under the old `k=v&...` text both spelled "note=n&requestId=<k1>&requestId=<k0>": the
    // same signature, another key, a second credit.
    expect(await send({ ...signed, note: 'n', requestId: `${k1}&requestId=${k0}` })).to.equal(401);
    expect((await ctx().clients.member.getCpoint({ uid: u })).cpoint).to.equal('5.00');
  });

  it('bad input answers 400 naming the field, and writes nothing', async () => {
    const u = uid();
    const before = await tableCounts(ctx());
    for (const cpoint of ['0', '-1', '1.001', 'abc', '1000000000001']) {
      const res = await post('/cm/inner/user/adminAddCpoint', { requestId: key(), uid: u, cpoint, adminId: 'a' }, ops);
      expect(res.http, cpoint).to.equal(400);
      expect(res.body.status, cpoint).to.equal(400);
      expect(res.body.message, cpoint).to.match(/^cpoint:/);
    }
    expect((await post('/cm/inner/user/getCpoint', {})).body.message).to.match(/^uid:/);
    const many = Array.from({ length: 101 }, (_, i) => `x${i}`).join(',');
    expect((await post('/cm/inner/user/listInfo', { uids: many })).body.message).to.match(/^uids:/);
    expect(await tableCounts(ctx())).to.deep.equal(before);
    expect((await ctx().clients.member.getCpoint({ uid: u })).cpoint).to.equal('0.00');
  });

  it('a consume that cannot get the user lock within the wait answers 10000 (LOCK_BUSY), writing nothing', async () => {
    const u = uid();
    await post('/cm/inner/user/adminAddCpoint', { requestId: key(), uid: u, cpoint: '5', adminId: 'a' }, ops);
    const before = await tableCounts(ctx());
    // An instance with a 300 ms lock wait (HUODONG_LOCK_WAIT_MS; 2 s by default), held up by its own locks.
    const sibling = await startSiblingApp(ctx(), { env: { HUODONG_LOCK_WAIT_MS: '300' } });
    try {
      await sibling.app.locks.withLock(`member:user:${u}`, async () => {
        const busy = await post('/cm/inner/useCpoint/consume', { orderId: `busy-${u}`, uid: u, cpoint: '1' }, shop, { via: sibling });
        expect(busy.http).to.equal(200);
        expect(busy.body).to.include({ status: 10000, reason: 'LOCK_BUSY' });
      });
    } finally {
      await sibling.stop();
    }
    expect(await tableCounts(ctx())).to.deep.equal(before);
  });

  it('task config, grades, submit and user lists speak the seed shapes', async () => {
    const grades = await ctx().clients.member.updateGradeConfigs({ grades: [{ grade: 1, score: '0' }, { grade: 2, score: '100' }] });
    expect(grades.grades).to.have.lengthOf(2);
    expect((await post('/cm/inner/cnf/gradeCnfList', {})).body.data).to.deep.equal({ 1: 0, 2: 100 });
    const update = await post('/cm/inner/cnf/taskCnfUpdate', { id: 77, op: 'share', name: '分享任务', score: '60', cpoint: '2.5', step_cpoint: '1:2,20:40.5', status: 0, s_time: '', r_flag: 1, r_ratio: 1, r_count: 3 }, ops);
    expect(update.body).to.deep.include({ status: 200, data: {} });
    // Legacy callers never send op: an existing task keeps its own.
    expect((await post('/cm/inner/cnf/taskCnfUpdate', { id: 77, name: '分享任务', score: '60', cpoint: '2.5', step_cpoint: '1:2,20:40.5', status: 0, r_flag: 1, r_ratio: 1, r_count: 3 }, ops)).body.status).to.equal(200);
    const list = (await post('/cm/inner/cnf/taskCnfList', {})).body.data as Array<Record<string, unknown>>;
    expect(list.find((t) => t.id === 77)).to.deep.include({ op: 'share', name: '分享任务', score: 60, cpoint: 2.5, step_cpoint: { 1: 2, 20: 40.5 }, batch: 1, repeat: 1, s_grade: -1, r_count: 3, r_cpoint: -1 });
    const u = uid();
    const submit = await post('/cm/inner/task/submit', { requestId: key(), uid: u, op: 'share', target: 'post-1', times: 2 });
    expect(submit.body.data).to.deep.equal({ cpoint: 4, score: 120, newScore: 120, newCpoint: 4, code: 0, grades: { 1: 0, 2: 100 } });
    expect(((await post('/cm/inner/task/submit', { requestId: key(), uid: u, op: 'unknown-op' })).body.data as { code: number }).code).to.equal(2);
    const info = await post('/cm/inner/user/listInfo', { uids: `${u},nobody-${u}` });
    expect(info.body.data).to.deep.equal([{ [u]: { cpoints: 4, scores: 120, grade: 2 } }, { [`nobody-${u}`]: { cpoints: 0, scores: 0, grade: 0 } }]);
    const sorted = await post('/cm/inner/user/listSortInfo', { condition: 'score=*', sort: -1, page: 1, limit: 1 });
    expect(sorted.body.data).to.deep.equal([{ [u]: { cpoints: 4, scores: 120, grade: 2 } }]);
  });

  it('a closed RPC answers 10100 through the bridge', async () => {
    await ctx().clients.member.setApiSwitch({ method: 'GetCpoint', closed: true });
    try {
      const res = await post('/cm/inner/user/getCpoint', { uid: uid() });
      expect(res.body).to.include({ status: 10100, reason: 'API_CLOSED' });
    } finally {
      await ctx().clients.member.setApiSwitch({ method: 'GetCpoint', closed: false });
    }
  });

  // ---- issue 14 item 6 ----------------------------------------------------------------------

  it('taskCnfUpdate without name or desc keeps them; listSortInfo caps limit at 100 as the seed says', async () => {
    const base = { id: 78, op: 'sign', score: '1', cpoint: '1', status: 0 };
    expect((await post('/cm/inner/cnf/taskCnfUpdate', { ...base, name: '签到', desc: '每日签到' }, ops)).body.status).to.equal(200);
    expect((await post('/cm/inner/cnf/taskCnfUpdate', { id: 78, score: '2', cpoint: '1', status: 0 }, ops)).body.status).to.equal(200);
    const list = (await post('/cm/inner/cnf/taskCnfList', {})).body.data as Array<Record<string, unknown>>;
    expect(list.find((t) => t.id === 78)).to.deep.include({ op: 'sign', name: '签到', desc: '每日签到', score: 2 });
    const sorted = await post('/cm/inner/user/listSortInfo', { condition: 'score', limit: 500 });
    expect(sorted.http).to.equal(200);
    expect(sorted.body.status).to.equal(200);
    expect((sorted.body.data as unknown[]).length).to.be.at.most(100);
  });

  it('the kill switch cannot close the bridge\'s signing-key lookup (GetLegacyApp)', async () => {
    const refused = await ctx().clients.member.setApiSwitch({ method: 'GetLegacyApp', closed: true }).then(
      () => 'closed',
      (err: Error) => err.message,
    );
    expect(refused).to.match(/cannot be closed/);
    // Even written straight into the table, it does not close the lookup: an instance started
    // after the write (so no cache of switches predates it) still looks a fresh app up.
    await ctx().app.db.knex('member_api_switches').insert({ method: 'GetLegacyApp', closed: true, updated_by: 'dba', updated_at: now() });
    try {
      const sibling = await startSiblingApp(ctx());
      try {
        const fresh = await sibling.clients.member.createLegacyApp({ appName: `fresh-${seq++}`, admin: false });
        const res = await post('/cm/inner/user/getCpoint', { uid: uid() }, fresh, { via: sibling });
        expect(res.body.status).to.equal(200);
      } finally {
        await sibling.stop();
      }
    } finally {
      await ctx().app.db.knex('member_api_switches').where({ method: 'GetLegacyApp' }).delete();
    }
  });
});
