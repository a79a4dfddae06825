import { expect } from 'chai';
import { points as pb } from '@huodong/clients';
import { createRedlockLocks } from '../../../src/platform/locks.js';
import { STORE_KINDS, describeEachStore, startTestApp, type TestApp } from '../../support/app.js';
import { FakeClock } from '../../support/clock.js';

let seq = 0;
const unique = (p: string): string => `${p}-${process.pid}-${++seq}`;

interface Envelope {
  result: unknown;
  msg: string;
  code: number;
  reason?: string;
}

async function call(app: TestApp, method: string, body: Record<string, unknown>, token = app.token, form = false): Promise<{ status: number; body: Envelope }> {
  const res = await fetch(`${app.bridgeUrl}/points/${method}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json',
    },
    body: form ? new URLSearchParams(Object.entries(body).map(([k, v]) => [k, String(v)])).toString() : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Envelope };
}

describeEachStore('points legacy REST bridge', (ctx, store) => {
  it('runs the seed flow: savePrize, changePoints, getUserPoints, exchangePrize, changeRecord, getPrizedsList', async () => {
    const app = ctx();
    const openId = unique('o');
    const prize = await call(app, 'savePrize', {
      faceValue: 60, title: '保温杯', desc: '不锈钢', icon: 'https://img/cup.png', total: 2, type: 'goods', exchangeLimit: 'week',
    });
    expect(prize.status).to.equal(200);
    expect(prize.body.code).to.equal(0);
    const p = prize.body.result as { prizeId: string; totalRemaining: number; exchangeLimit: string };
    expect([p.totalRemaining, p.exchangeLimit]).to.deep.equal([2, 'week']);
    expect((await call(app, 'getPrizeById', { id: p.prizeId })).body.result).to.include({ title: '保温杯', type: 'goods' });

    const credited = await call(app, 'changePoints', { requestId: unique('r'), openId, faceValue: 100, changeType: 'sign', desc: '签到' }, app.token, true);
    expect(credited.body).to.include({ code: 0, msg: 'success' });
    expect(credited.body.result).to.include({ changeStatus: 1, userRemainingPoints: 100, type: 'sign' });
    const debited = await call(app, 'changePoints', { requestId: unique('r'), openId, faceValue: -10, changeType: 'other' });
    expect(debited.body.result).to.include({ changeStatus: 2, userRemainingPoints: 90 });

    const noAddress = await call(app, 'exchangePrize', { openId, prizeId: p.prizeId, userName: '李四', telNumber: '139' });
    expect(noAddress.status).to.equal(400);
    expect(noAddress.body).to.include({ code: 3, reason: 'INVALID_ARGUMENT' });
    const exchanged = await call(app, 'exchangePrize', { openId, prizeId: p.prizeId, address: '北京', userName: '李四', telNumber: '139', requestId: 'ex-1' });
    expect(exchanged.body.result).to.include({ userRemainingPoints: 30, faceValue: 60 });
    const replay = await call(app, 'exchangePrize', { openId, prizeId: p.prizeId, address: '北京', userName: '李四', telNumber: '139', requestId: 'ex-1' });
    expect(replay.body.result).to.deep.equal(exchanged.body.result);
    const again = await call(app, 'exchangePrize', { openId, prizeId: p.prizeId, address: '北京', userName: '李四', telNumber: '139' });
    expect(again.status).to.equal(400);
    expect(again.body.reason).to.equal('EXCHANGE_LIMIT_REACHED');

    const pts = await call(app, 'getUserPoints', { openId });
    expect(pts.body.result).to.deep.include({ points: 30, expiredPointsInfo: { faceValue: 0, expiredTime: '' } });
    const records = (await call(app, 'changeRecord', { openId, type: 'exchange' })).body.result as { list: Array<Record<string, unknown>> };
    expect(records.list).to.have.lengthOf(1);
    expect(records.list[0]).to.deep.include({ changeStatus: 2, faceValue: 60, type: 'exchange', userRemainingPoints: 30 });
    expect(records.list[0]?.prizeInfo).to.deep.equal({ title: '保温杯', prizeImg: 'https://img/cup.png', address: '北京', userName: '李四', telNumber: '139' });
    const all = (await call(app, 'changeRecord', { openId, type: 'task' })).body.result as { list: unknown[] };
    expect(all.list).to.have.lengthOf(3);
    const list = (await call(app, 'getPrizedsList', { openId })).body.result as Array<{ prizeId: string; status: number }>;
    expect(list.find((x) => x.prizeId === p.prizeId)?.status).to.equal(1);
  });

  if (store === 'mysql+redlock') {
    it('timedTask answers `running` in time, not 504, while another instance holds the daily job (before the day is done)', async function () {
      this.timeout(30_000);
      const app = ctx();
      // Another instance in the middle of a long run: it holds the job's lock (and renews it).
      const other = createRedlockLocks([process.env.REDIS_URL ?? '']);
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      let taken: () => void = () => undefined;
      const isTaken = new Promise<void>((resolve) => {
        taken = resolve;
      });
      const holder = other.withLock('points:daily-job', () => {
        taken();
        return held;
      }, { ttlMs: 60_000, keepAlive: true });
      try {
        await isTaken;
        const started = Date.now();
        const job = await call(app, 'timedTask', {});
        const took = Date.now() - started;
        expect(job.status, JSON.stringify(job.body)).to.equal(200);
        expect(job.body.code).to.equal(0);
        expect(job.body.result).to.include({ running: true, finished: false });
        expect(took, 'answered within the bridge budget').to.be.below(5_000);
      } finally {
        release();
        await holder;
        await other.close();
      }
      // Once the other run is over, the call runs the day itself.
      const after = await call(app, 'timedTask', {});
      expect(after.body.result).to.include({ running: false, finished: true });
    });
  }

  it('runs tasks: saveTask (Chinese cycle words), setUserTaskStatus (0/1/2), receiveTaskAward, getTasksList, timedTask', async () => {
    const app = ctx();
    const openId = unique('o');
    const saved = await call(app, 'saveTask', {
      taskId: unique('t'), type: 'cyclicTask', cycle: { title: '每月任务', type: '每月X', day: 31 }, title: '充值500元', desc: '',
      btnTitle: '去充值', btnType: 'route', path: '/pages/pay', faceValue: 50, total: 500, taskModel: 'progress',
    });
    expect(saved.body.code).to.equal(0);
    const task = saved.body.result as { taskId: string; cycle: { type: string; day: number } };
    expect(task.cycle).to.deep.include({ type: '每月X', day: 31 });
    expect((await call(app, 'getTaskById', { id: task.taskId })).body.result).to.include({ title: '充值500元', total: 500 });

    const early = await call(app, 'setUserTaskStatus', { openId, taskId: task.taskId, completeNum: 350, status: 0 });
    expect(early.status).to.equal(400);
    expect(early.body.msg).to.match(/status/);
    const over = await call(app, 'setUserTaskStatus', { openId, taskId: task.taskId, completeNum: 501, status: 1 });
    expect(over.status).to.equal(400);
    await call(app, 'setUserTaskStatus', { openId, taskId: task.taskId, completeNum: 350, status: 1 });
    let tasks = (await call(app, 'getTasksList', { openId })).body.result as { cyclicTask: Array<{ taskId: string; currentTotal: number; status: number }> };
    expect(tasks.cyclicTask.find((t) => t.taskId === task.taskId)).to.include({ currentTotal: 350, status: 1 });
    await call(app, 'setUserTaskStatus', { openId, taskId: task.taskId, completeNum: 500, status: 0 });
    const award = await call(app, 'receiveTaskAward', { openId, taskId: task.taskId });
    expect(award.body).to.deep.equal({ result: true, msg: 'success', code: 0 });
    tasks = (await call(app, 'getTasksList', { openId })).body.result as typeof tasks;
    expect(tasks.cyclicTask.find((t) => t.taskId === task.taskId)).to.include({ currentTotal: 500, status: 2 });
    const pts = (await call(app, 'getUserPoints', { openId })).body.result as { points: number; expiredPointsInfo: { faceValue: number } };
    expect(pts.points).to.equal(50);
    expect(pts.expiredPointsInfo.faceValue).to.equal(50);
    const job = await call(app, 'timedTask', {});
    expect(job.body.code).to.equal(0);
    expect(job.body.result).to.include({ finished: true });
  });

  it('savePointsRule / getPointsRule and send_prize', async () => {
    const app = ctx();
    await call(app, 'savePointsRule', { ruleDetail: '1. 积分一年有效' });
    expect((await call(app, 'getPointsRule', {})).body.result).to.deep.equal({ ruleDetail: '1. 积分一年有效' });
    const openId = unique('o');
    await call(app, 'changePoints', { requestId: unique('r'), openId, faceValue: 40, changeType: 'invite' });
    const prize = (await call(app, 'savePrize', { faceValue: 15, title: '会员月卡', desc: '', icon: '', total: 9, type: 'virtualGoods', exchangeLimit: 'day' })).body
      .result as { prizeId: string };
    const sent = await call(app, 'send_prize', { openId, prizeId: prize.prizeId, faceValue: 15 });
    expect(sent.body.result).to.include({ userRemainingPoints: 25 });
  });

  it('savePointsRule (text only) keeps the per-source validity saved over gRPC', async () => {
    const app = ctx();
    const points = app.clients.points;
    const expiries = [
      { source: pb.PointsSource.POINTS_SOURCE_SIGN, validityDays: 7 },
      { source: pb.PointsSource.POINTS_SOURCE_INVITE, validityDays: 30 },
    ];
    try {
      await points.savePointsRule({ ruleDetail: '签到积分7天有效', sourceExpiries: expiries });
      const saved = await call(app, 'savePointsRule', { ruleDetail: '签到积分7天有效, 邀请积分30天有效' });
      expect(saved.body).to.include({ code: 0 });
      expect(saved.body.result).to.deep.equal({ ruleDetail: '签到积分7天有效, 邀请积分30天有效' });
      const rule = (await points.getPointsRule({})).rule;
      expect(rule?.ruleDetail).to.equal('签到积分7天有效, 邀请积分30天有效');
      expect(rule?.sourceExpiries).to.deep.equal(expiries);
      // and a sign credit still expires 7 days after it is granted
      const before = Date.now();
      const credited = await call(app, 'changePoints', { requestId: unique('r'), openId: unique('o'), faceValue: 5, changeType: 'sign' });
      const expiredTime = (credited.body.result as { expiredTime: number | null }).expiredTime;
      expect(expiredTime, 'a sign credit expires').to.be.a('number');
      const week = 7 * 86_400_000;
      expect(expiredTime).to.be.within(before + week - 1_000, Date.now() + week);
    } finally {
      await points.savePointsRule({ ruleDetail: 'rule', sourceExpiries: [] });
    }
  });

  it('changePoints refuses a faceValue whose sign contradicts changeStatus, writing nothing', async () => {
    const app = ctx();
    const openId = unique('o');
    await call(app, 'changePoints', { requestId: unique('r'), openId, faceValue: 100, changeType: 'other' });
    const records = async (): Promise<number> =>
      ((await call(app, 'changeRecord', { openId, type: 'task' })).body.result as { list: unknown[] }).list.length;
    for (const form of [false, true]) {
      const r = await call(app, 'changePoints', { requestId: unique('r'), openId, faceValue: -50, changeStatus: 1, changeType: 'other' }, app.token, form);
      expect(r.status).to.equal(400);
      expect(r.body).to.include({ result: null, code: 3, reason: 'INVALID_ARGUMENT' });
      expect(r.body.msg).to.match(/^faceValue/);
    }
    expect((await call(app, 'getUserPoints', { openId })).body.result).to.include({ points: 100 });
    expect(await records()).to.equal(1);
    // the consistent forms still work: a minus sign alone, changeStatus 2 with or without it, changeStatus 1
    const debits = [{ faceValue: -10 }, { faceValue: 10, changeStatus: 2 }, { faceValue: -10, changeStatus: '2' }];
    for (const d of debits) {
      const r = await call(app, 'changePoints', { requestId: unique('r'), openId, changeType: 'other', ...d });
      expect(r.body.result, JSON.stringify(d)).to.include({ changeStatus: 2, faceValue: 10 });
    }
    const added = await call(app, 'changePoints', { requestId: unique('r'), openId, faceValue: 5, changeStatus: 1, changeType: 'other' });
    expect(added.body.result).to.include({ changeStatus: 1, faceValue: 5, userRemainingPoints: 75 });
  });

  it('refuses bad numbers, unknown ids and missing scopes with the legacy envelope', async () => {
    const app = ctx();
    const openId = unique('o');
    for (const faceValue of ['1.5', 'abc', '0']) {
      const r = await call(app, 'changePoints', { requestId: unique('r'), openId, faceValue, changeType: 'other' });
      expect(r.status, faceValue).to.equal(400);
      expect(r.body.result).to.equal(null);
      expect(r.body.msg).to.match(/faceValue|face_value/);
    }
    const big = await call(app, 'changePoints', { requestId: unique('r'), openId, faceValue: 10_000_000_000_000, changeType: 'other' });
    expect(big.status).to.equal(400);
    const over = await call(app, 'changePoints', { requestId: unique('r'), openId, faceValue: -5, changeType: 'other' });
    expect([over.status, over.body.reason]).to.deep.equal([400, 'INSUFFICIENT_POINTS']);
    expect((await call(app, 'getPrizeById', { id: 'nope' })).status).to.equal(404);
    expect((await call(app, 'changeRecord', { openId, type: 'bogus' })).status).to.equal(400);
    const { token } = await app.clientsWithScopes(['points']);
    expect((await call(app, 'getUserPoints', { openId }, token)).body.result).to.include({ points: 0 });
    const denied = await call(app, 'savePrize', { faceValue: 1, title: 'x', total: 1, type: 'goods', exchangeLimit: 'day' }, token);
    expect([denied.status, denied.body.reason]).to.deep.equal([403, 'SCOPE_MISSING']);
    expect((await call(app, 'getUserPoints', { openId }, 'hd_forged')).status).to.equal(401);
  });

  // ---- issue 14 item 5: drop-in ------------------------------------------------------------

  it('speaks the legacy centre: Chinese texts, seed field names, cycle words as sent, expiredPointsInfo an object', async () => {
    const app = ctx();
    const openId = unique('o');
    const prize = (await call(app, 'savePrize', { faceValue: 10, title: '保温杯', desc: '', icon: '', total: 5, type: 'goods', exchangeLimit: 'once' })).body.result as { prizeId: string };
    expect((await call(app, 'getUserPoints', { openId })).body.result).to.deep.include({ expiredPointsInfo: { faceValue: 0, expiredTime: '' } });
    await call(app, 'changePoints', { requestId: unique('r'), openId, faceValue: 50, changeType: 'inviting', desc: '邀请' });
    await call(app, 'exchangePrize', { requestId: unique('x'), openId, prizeId: prize.prizeId, address: '北京', userName: '李四', telNumber: '139' });
    const records = (await call(app, 'changeRecord', { openId, type: 'task' })).body.result as { list: Array<Record<string, unknown>> };
    const exchange = records.list.find((r) => r.type === 'exchange');
    expect(exchange).to.deep.include({ desc: '兑换奖励: 保温杯', changeSource: 'exchange', isExpired: false });
    expect(records.list.find((r) => r.type !== 'exchange')).to.deep.include({ changeSource: 'inviting', isExpired: false });
    for (const word of ['每天', '每周X', '每月X']) {
      const saved = await call(app, 'saveTask', {
        taskId: unique('t'), type: 'cyclicTask', cycle: { title: word, type: word, day: 1 }, title: 't', desc: '',
        btnTitle: 'b', btnType: 'route', path: '/p', faceValue: 1, total: 1,
      });
      expect((saved.body.result as { cycle: { type: string } }).cycle.type, word).to.equal(word);
    }
  });

  it('setUserTaskStatus without completeNum keeps the stored progress; savePrize without total is refused', async () => {
    const app = ctx();
    const openId = unique('o');
    const task = (await call(app, 'saveTask', {
      taskId: unique('t'), type: 'permanentTask', title: '充值', desc: '', btnTitle: 'b', btnType: 'route', path: '/p', faceValue: 5, total: 10, taskModel: 'progress',
    })).body.result as { taskId: string };
    await call(app, 'setUserTaskStatus', { openId, taskId: task.taskId, completeNum: 7, status: 1 });
    const kept = await call(app, 'setUserTaskStatus', { openId, taskId: task.taskId, status: 1 });
    expect(kept.body.code).to.equal(0);
    const tasks = (await call(app, 'getTasksList', { openId })).body.result as { permanentTask: Array<{ taskId: string; currentTotal: number }> };
    expect(tasks.permanentTask.find((t) => t.taskId === task.taskId)?.currentTotal).to.equal(7);
    const noTotal = await call(app, 'savePrize', { faceValue: 10, title: '无库存', desc: '', icon: '', type: 'goods', exchangeLimit: 'day' });
    expect(noTotal.status).to.equal(400);
    expect(noTotal.body.msg).to.match(/^total:/);
  });

  it('changePoints without a key is refused, so a retry never credits twice', async () => {
    const app = ctx();
    const openId = unique('o');
    for (let i = 0; i < 2; i += 1) {
      const keyless = await call(app, 'changePoints', { openId, faceValue: 10, changeType: 'other' });
      expect(keyless.status).to.equal(400);
      expect(keyless.body.msg).to.match(/^requestId:/);
    }
    const requestId = unique('r');
    for (let i = 0; i < 2; i += 1) await call(app, 'changePoints', { requestId, openId, faceValue: 10, changeType: 'other' });
    expect((await call(app, 'getUserPoints', { openId })).body.result).to.deep.include({ points: 10 });
  });
});

// Seed 002 table 2's record fields, on a clock of the test's own: a task reward lot that expires
// a year later, written off by the daily job (timedTask) once the clock has passed it.
for (const store of STORE_KINDS) {
  describe(`points legacy REST bridge: change records as seed 002 writes them [${store}]`, function () {
    const sh = (wall: string): Date => new Date(`${wall}+08:00`);
    // A year before the real clock's today at least, so that the reward's expiry is past for the
    // bridge too (isExpired compares with the wall clock).
    const clock = new FakeClock(sh('2025-03-01T10:00:00'));
    let app: TestApp | undefined;
    const ctx = (): TestApp => {
      if (app === undefined) throw new Error('test app not started');
      return app;
    };
    before(async () => {
      app = await startTestApp(store, { clock });
    });
    after(async () => {
      await app?.stop();
    });

    it('task reward (任务奖励) and expiry (过期积分) records: openId, remainingIntegral, timestamps, isExpired true once expired', async () => {
      const openId = unique('o');
      const saved = await call(ctx(), 'saveTask', {
        taskId: unique('t'), type: 'permanentTask', title: '签到', desc: '', btnTitle: 'b', btnType: 'route', path: '/p', faceValue: 30, total: 1,
      });
      const taskId = (saved.body.result as { taskId: string }).taskId;
      await call(ctx(), 'setUserTaskStatus', { openId, taskId, completeNum: 1, status: 0 });
      expect((await call(ctx(), 'receiveTaskAward', { openId, taskId })).body.result).to.equal(true);
      const other = await call(ctx(), 'changePoints', { requestId: unique('r'), openId, faceValue: 20, changeType: 'other' });
      expect(other.body.result).to.deep.include({ openId, remainingIntegral: 20, expiredTime: null, isExpired: false });
      // Spends the soonest-expiring lot first: the reward's.
      const spent = await call(ctx(), 'changePoints', { requestId: unique('r'), openId, faceValue: -5, changeType: 'other' });
      expect(spent.body.result).to.deep.include({ openId, changeStatus: 2, remainingIntegral: null, expiredTime: null });

      const list = async (): Promise<Array<Record<string, unknown>>> =>
        ((await call(ctx(), 'changeRecord', { openId, type: 'task' })).body.result as { list: Array<Record<string, unknown>> }).list;
      const expiry = sh('2026-03-01T10:00:00').getTime();
      let reward = (await list()).find((r) => r.changeSource === 'task');
      expect(reward).to.deep.include({
        openId,
        desc: '任务奖励: 签到',
        type: 'task',
        changeStatus: 1,
        faceValue: 30,
        remainingIntegral: 25,
        expiredTime: expiry,
        createdAt: sh('2025-03-01T10:00:00').toISOString(),
        taskInfo: { title: '签到' },
      });

      clock.set(sh('2026-03-02T00:00:00'));
      const job = await call(ctx(), 'timedTask', {});
      expect(job.body.code).to.equal(0);
      const records = await list();
      reward = records.find((r) => r.changeSource === 'task');
      expect(reward).to.deep.include({ desc: '任务奖励: 签到', isExpired: true, remainingIntegral: 0, expiredTime: expiry });
      const expired = records.find((r) => r.changeSource === 'expiredTask');
      expect(expired).to.deep.include({
        openId,
        desc: '过期积分',
        type: 'expiredTask',
        changeStatus: 2,
        faceValue: 25,
        userRemainingPoints: 20,
        isExpired: false,
        remainingIntegral: null,
        expiredTime: null,
        createdAt: sh('2026-03-02T00:00:00').toISOString(),
      });
      expect(records.find((r) => r.type === 'other' && r.changeStatus === 1)).to.deep.include({ remainingIntegral: 20, isExpired: false });
      expect((await call(ctx(), 'getUserPoints', { openId })).body.result).to.deep.include({ points: 20 });
    });
  });
}
