import { expect } from 'chai';
import { GrpcStatus, points as pb } from '@huodong/clients';
import { expectError } from '../../support/errors.js';
import { balanceOf, checkLedger, credit, describeEachStoreWithClock, savePrize, saveTask, sh, unique } from './helpers.js';

const { ChangeDirection, PointsSource, PrizeType, ExchangeLimit, PrizeStatus, TaskStatus, ChangeRecordType } = pb;

describeEachStoreWithClock('PointsCenterService', '2026-03-10T10:00:00', (ctx, clock) => {
  const points = (): ReturnType<typeof ctx>['clients']['points'] => ctx().clients.points;
  const knex = (): ReturnType<typeof ctx>['app']['db']['knex'] => ctx().app.db.knex;
  const rowsOf = async (openId: string): Promise<number[]> =>
    Promise.all(
      ['points_changes', 'points_lots', 'points_exchanges', 'points_user_tasks'].map(async (t) => {
        const r = (await knex()(t).where('open_id', openId).count({ c: '*' }).first()) as { c: unknown };
        return Number(r.c);
      }),
    );

  beforeEach(() => clock.set(sh('2026-03-10T10:00:00')));

  describe('balance, expiry and lots', () => {
    it('expires lots on the right day, draws from the soonest-expiring lot, shows the next expiry', async () => {
      const user = unique('u');
      await credit(ctx().clients, user, 100, PointsSource.POINTS_SOURCE_TASK); // expires 2027-03-10 10:00
      await credit(ctx().clients, user, 50, PointsSource.POINTS_SOURCE_OTHER); // never
      clock.set(sh('2026-05-01T09:00:00'));
      await credit(ctx().clients, user, 70, PointsSource.POINTS_SOURCE_TASK); // expires 2027-05-01 09:00
      const spent = await points().changePoints({
        requestId: unique('r'),
        openId: user,
        direction: ChangeDirection.CHANGE_DIRECTION_DEBIT,
        faceValue: '30',
        source: PointsSource.POINTS_SOURCE_OTHER,
      });
      expect(spent.record?.balanceAfter).to.equal('190');
      const draws = (await knex()('points_draws as d')
        .join('points_lots as l', 'l.id', 'd.lot_id')
        .where('d.record_id', spent.record?.recordId)
        .select('l.amount', 'd.amount as drawn')) as Array<{ amount: unknown; drawn: unknown }>;
      expect(draws.map((d) => [Number(d.amount), Number(d.drawn)])).to.deep.equal([[100, 30]]);

      let view = await points().getUserPoints({ openId: user });
      expect(view.points).to.equal('190');
      expect(view.nearestExpiry?.points).to.equal('70');
      expect(view.nearestExpiry?.expireTime?.toISOString()).to.equal(sh('2027-03-10T10:00:00').toISOString());
      expect(view.upcomingExpiries.map((e) => [e.points, e.expireTime?.toISOString()])).to.deep.equal([
        ['70', sh('2027-03-10T10:00:00').toISOString()],
        ['70', sh('2027-05-01T09:00:00').toISOString()],
      ]);

      clock.set(sh('2027-03-10T09:59:59'));
      expect(await balanceOf(ctx().clients, user)).to.equal(190);
      clock.set(sh('2027-03-10T10:00:00'));
      view = await points().getUserPoints({ openId: user });
      expect(view.points).to.equal('120');
      expect(view.nearestExpiry?.expireTime?.toISOString()).to.equal(sh('2027-05-01T09:00:00').toISOString());

      // An expired lot can no longer be spent, even before the daily job wrote it off.
      await expectError(
        points().changePoints({
          requestId: unique('r'),
          openId: user,
          direction: ChangeDirection.CHANGE_DIRECTION_DEBIT,
          faceValue: '121',
          source: PointsSource.POINTS_SOURCE_OTHER,
        }),
        GrpcStatus.FAILED_PRECONDITION,
        'INSUFFICIENT_POINTS',
      );
      // The job that writes it off is the next midnight's (a tick of the in-server scheduler
      // may have run it already; either way the outcome is the same).
      clock.set(sh('2027-03-11T00:00:00'));
      const job = await points().runDailyJob({});
      expect(job.finished).to.equal(true);
      const records = await points().listChangeRecords({ openId: user, type: ChangeRecordType.CHANGE_RECORD_TYPE_TASK });
      const expired = records.records.find((r) => r.source === PointsSource.POINTS_SOURCE_EXPIRED_TASK);
      expect(expired?.faceValue).to.equal('70');
      expect(expired?.direction).to.equal(ChangeDirection.CHANGE_DIRECTION_DEBIT);
      expect(expired?.balanceAfter).to.equal('120');
      const ledger = await checkLedger(knex(), user);
      expect(ledger.balance).to.equal(120);
      expect(await balanceOf(ctx().clients, user)).to.equal(120);

      clock.set(sh('2027-05-01T09:00:00'));
      expect(await balanceOf(ctx().clients, user)).to.equal(50);
      expect((await points().getUserPoints({ openId: user })).nearestExpiry).to.equal(undefined);
    });

    it('parallel GetUserPoints calls (coalesced into shared queries) each answer their own balance', async () => {
      const users = Array.from({ length: 40 }, () => unique('par'));
      await Promise.all(
        users.map((openId, i) =>
          points().changePoints({
            requestId: unique('r'),
            openId,
            direction: ChangeDirection.CHANGE_DIRECTION_CREDIT,
            faceValue: String(i + 1),
            source: PointsSource.POINTS_SOURCE_OTHER,
          }),
        ),
      );
      const views = await Promise.all([...users, 'nobody-here'].map((openId) => points().getUserPoints({ openId })));
      expect(views.map((v) => v.points)).to.deep.equal([...users.map((_, i) => String(i + 1)), '0']);
    });

    it('a debit above the balance is refused and writes nothing', async () => {
      const user = unique('u');
      await credit(ctx().clients, user, 40);
      const before = await rowsOf(user);
      await expectError(
        points().changePoints({
          requestId: unique('r'),
          openId: user,
          direction: ChangeDirection.CHANGE_DIRECTION_DEBIT,
          faceValue: '41',
          source: PointsSource.POINTS_SOURCE_OTHER,
        }),
        GrpcStatus.FAILED_PRECONDITION,
        'INSUFFICIENT_POINTS',
      );
      expect(await rowsOf(user)).to.deep.equal(before);
      expect((await checkLedger(knex(), user)).balance).to.equal(40);
    });

    it('ChangePoints replays its request_id and refuses it with other parameters', async () => {
      const user = unique('u');
      const req = { requestId: unique('r'), openId: user, direction: ChangeDirection.CHANGE_DIRECTION_CREDIT, faceValue: '25', source: PointsSource.POINTS_SOURCE_SIGN };
      const first = await points().changePoints(req);
      const again = await points().changePoints(req);
      expect(again.record?.recordId).to.equal(first.record?.recordId);
      expect(again.record?.balanceAfter).to.equal('25');
      await expectError(points().changePoints({ ...req, faceValue: '26' }), GrpcStatus.ALREADY_EXISTS, 'IDEMPOTENCY_KEY_REUSED');
      expect(await balanceOf(ctx().clients, user)).to.equal(25);
    });

    it('a replayed debit gets its first answer even after the balance has run short', async () => {
      const user = unique('u');
      await credit(ctx().clients, user, 30, PointsSource.POINTS_SOURCE_INVITE);
      const req = { requestId: unique('r'), openId: user, direction: ChangeDirection.CHANGE_DIRECTION_DEBIT, faceValue: '20', source: PointsSource.POINTS_SOURCE_OTHER };
      const first = await points().changePoints(req);
      expect(first.record?.balanceAfter).to.equal('10');
      const again = await points().changePoints(req);
      expect(again.record?.recordId).to.equal(first.record?.recordId);
      expect(again.record?.balanceAfter).to.equal('10');
      await expectError(points().changePoints({ ...req, faceValue: '5' }), GrpcStatus.ALREADY_EXISTS, 'IDEMPOTENCY_KEY_REUSED');
      await expectError(points().changePoints({ ...req, requestId: unique('r') }), GrpcStatus.FAILED_PRECONDITION, 'INSUFFICIENT_POINTS');
      expect((await checkLedger(knex(), user)).balance).to.equal(10);
    });

    it('applies the rule validity per source (sign: 7 days) and never for unlisted sources', async () => {
      await points().savePointsRule({
        ruleDetail: '签到积分7天有效',
        sourceExpiries: [{ source: PointsSource.POINTS_SOURCE_SIGN, validityDays: 7 }],
      });
      const rule = await points().getPointsRule({});
      expect(rule.rule?.ruleDetail).to.equal('签到积分7天有效');
      const user = unique('u');
      const sign = await credit(ctx().clients, user, 5, PointsSource.POINTS_SOURCE_SIGN);
      expect(sign.expireTime?.toISOString()).to.equal(sh('2026-03-17T10:00:00').toISOString());
      const invite = await credit(ctx().clients, user, 5, PointsSource.POINTS_SOURCE_INVITE);
      expect(invite.expireTime).to.equal(undefined);
      await expectError(
        points().savePointsRule({ ruleDetail: 'x', sourceExpiries: [{ source: PointsSource.POINTS_SOURCE_TASK, validityDays: 7 }] }),
        GrpcStatus.INVALID_ARGUMENT,
      );
      await points().savePointsRule({ ruleDetail: 'rule', sourceExpiries: [] });
    });

    it('caps the rule text at what a MySQL TEXT column holds (65,535 bytes of UTF-8), on every store', async () => {
      await points().savePointsRule({ ruleDetail: 'before', sourceExpiries: [] });
      const stored = async (): Promise<string> => ((await knex()('points_rules').first()) as { rule_detail: string }).rule_detail;
      // 16,400 emoji are 16,400 characters (under the 20,000 cap) but 65,600 bytes
      for (const ruleDetail of ['😀'.repeat(16_400), `${'😀'.repeat(16_383)}abcd`]) {
        const e = await expectError(points().savePointsRule({ ruleDetail, sourceExpiries: [] }), GrpcStatus.INVALID_ARGUMENT);
        expect(e.field).to.equal('rule_detail');
        expect(await stored()).to.equal('before');
        expect((await points().getPointsRule({})).rule?.ruleDetail).to.equal('before');
      }
      for (const ruleDetail of [`${'😀'.repeat(16_383)}abc`, 'a'.repeat(20_000)]) {
        const saved = await points().savePointsRule({ ruleDetail, sourceExpiries: [] });
        expect(saved.rule?.ruleDetail).to.equal(ruleDetail);
        expect(await stored()).to.equal(ruleDetail);
      }
      await points().savePointsRule({ ruleDetail: 'rule', sourceExpiries: [] });
    });

    it('pages change records newest first', async () => {
      const user = unique('u');
      for (let i = 1; i <= 5; i += 1) await credit(ctx().clients, user, i);
      const p1 = await points().listChangeRecords({ openId: user, type: ChangeRecordType.CHANGE_RECORD_TYPE_TASK, pageSize: 2 });
      expect(p1.records.map((r) => r.faceValue)).to.deep.equal(['5', '4']);
      expect(p1.records.map((r) => r.balanceAfter)).to.deep.equal(['15', '10']);
      const p2 = await points().listChangeRecords({ openId: user, type: ChangeRecordType.CHANGE_RECORD_TYPE_TASK, pageSize: 2, pageToken: p1.nextPageToken });
      expect(p2.records.map((r) => r.faceValue)).to.deep.equal(['3', '2']);
      const p3 = await points().listChangeRecords({ openId: user, type: ChangeRecordType.CHANGE_RECORD_TYPE_TASK, pageSize: 2, pageToken: p2.nextPageToken });
      expect(p3.records.map((r) => r.faceValue)).to.deep.equal(['1']);
      expect(p3.nextPageToken).to.equal('');
      const e = await expectError(
        points().listChangeRecords({ openId: user, type: ChangeRecordType.CHANGE_RECORD_TYPE_TASK, pageToken: 'bogus!' }),
        GrpcStatus.INVALID_ARGUMENT,
      );
      expect(e.field).to.equal('page_token');
    });
  });

  describe('prizes and exchanges', () => {
    it('a replayed exchange gets its first answer after the prize is disabled; a new one is refused', async () => {
      const user = unique('u');
      await credit(ctx().clients, user, 250);
      const prize = await savePrize(ctx().clients, { faceValue: '100' });
      const requestId = unique('x');
      const done = await points().exchangePrize({ requestId, openId: user, prizeId: prize.prizeId });
      await ctx().clients.points.savePrize({ prize: { ...prize, disabled: true } });
      const replay = await points().exchangePrize({ requestId, openId: user, prizeId: prize.prizeId });
      expect(replay.exchange?.exchangeId).to.equal(done.exchange?.exchangeId);
      expect(replay.balanceAfter).to.equal('150');
      await expectError(points().exchangePrize({ requestId: unique('x'), openId: user, prizeId: prize.prizeId }), GrpcStatus.FAILED_PRECONDITION, 'PRIZE_UNAVAILABLE');
      await expectError(points().exchangePrize({ requestId, openId: user, prizeId: unique('gone') }), GrpcStatus.ALREADY_EXISTS, 'IDEMPOTENCY_KEY_REUSED');
      expect((await checkLedger(knex(), user)).balance).to.equal(150);
    });

    it('exchanges physical goods with shipping data, once per day, and lists them', async () => {
      const user = unique('u');
      await credit(ctx().clients, user, 250);
      const prize = await savePrize(ctx().clients, { type: PrizeType.PRIZE_TYPE_GOODS, total: '5', faceValue: '100' });
      const other = await savePrize(ctx().clients, { total: '5' });
      const shipping = { address: '上海市浦东新区 1 号', userName: '张三', tel: '13800000000' };
      const requestId = unique('x');
      const done = await points().exchangePrize({ requestId, openId: user, prizeId: prize.prizeId, shipping });
      expect(done.balanceAfter).to.equal('150');
      expect(done.exchange?.shipping).to.deep.equal(shipping);
      expect(done.exchange?.periodKey).to.equal('d:2026-03-10');
      expect((await points().getPrize({ prizeId: prize.prizeId })).prize?.stock).to.equal('4');

      const replay = await points().exchangePrize({ requestId, openId: user, prizeId: prize.prizeId, shipping });
      expect(replay.exchange?.exchangeId).to.equal(done.exchange?.exchangeId);
      await expectError(
        points().exchangePrize({ requestId, openId: user, prizeId: prize.prizeId, shipping: { ...shipping, tel: '1' } }),
        GrpcStatus.ALREADY_EXISTS,
        'IDEMPOTENCY_KEY_REUSED',
      );
      await expectError(
        points().exchangePrize({ requestId: unique('x'), openId: user, prizeId: prize.prizeId, shipping }),
        GrpcStatus.FAILED_PRECONDITION,
        'EXCHANGE_LIMIT_REACHED',
      );
      const list = await points().listPrizes({ openId: user });
      const mine = list.prizes.filter((p) => p.prize?.prizeId === prize.prizeId || p.prize?.prizeId === other.prizeId);
      expect(mine.map((p) => [p.prize?.prizeId, p.status])).to.deep.equal([
        [other.prizeId, PrizeStatus.PRIZE_STATUS_EXCHANGEABLE],
        [prize.prizeId, PrizeStatus.PRIZE_STATUS_EXCHANGED],
      ]);
      const exchanges = await points().listChangeRecords({ openId: user, type: ChangeRecordType.CHANGE_RECORD_TYPE_EXCHANGE });
      expect(exchanges.records).to.have.lengthOf(1);
      expect(exchanges.records[0]?.exchange?.shipping).to.deep.equal(shipping);
      expect(exchanges.records[0]?.source).to.equal(PointsSource.POINTS_SOURCE_EXCHANGE);

      clock.set(sh('2026-03-11T00:00:00'));
      const next = await points().exchangePrize({ requestId: unique('x'), openId: user, prizeId: prize.prizeId, shipping });
      expect(next.balanceAfter).to.equal('50');
      expect(next.exchange?.periodKey).to.equal('d:2026-03-11');
      await checkLedger(knex(), user);
    });

    it('a sold-out prize fails inside the transaction after the debit and leaves everything as it was', async () => {
      const user = unique('u');
      await credit(ctx().clients, user, 500);
      const prize = await savePrize(ctx().clients, { total: '0' });
      const before = await rowsOf(user);
      await expectError(
        points().exchangePrize({ requestId: unique('x'), openId: user, prizeId: prize.prizeId }),
        GrpcStatus.FAILED_PRECONDITION,
        'PRIZE_SOLD_OUT',
      );
      expect(await rowsOf(user)).to.deep.equal(before);
      expect((await checkLedger(knex(), user)).balance).to.equal(500);
      expect((await points().getPrize({ prizeId: prize.prizeId })).prize?.stock).to.equal('0');
      const listed = (await points().listPrizes({ openId: user })).prizes.find((p) => p.prize?.prizeId === prize.prizeId);
      expect(listed?.status).to.equal(PrizeStatus.PRIZE_STATUS_SOLD_OUT);
    });

    it('refuses: unknown prize, disabled prize, missing address for goods, not enough points; nothing written', async () => {
      const user = unique('u');
      await credit(ctx().clients, user, 50);
      const goods = await savePrize(ctx().clients, { type: PrizeType.PRIZE_TYPE_GOODS });
      const off = await savePrize(ctx().clients, { disabled: true, faceValue: '1' });
      const pricey = await savePrize(ctx().clients, { faceValue: '51' });
      const before = await rowsOf(user);
      const stock = async (id: string): Promise<string | undefined> => (await points().getPrize({ prizeId: id })).prize?.stock;
      await expectError(points().exchangePrize({ requestId: unique('x'), openId: user, prizeId: 'no-such-prize' }), GrpcStatus.NOT_FOUND, 'PRIZE_NOT_FOUND');
      await expectError(points().exchangePrize({ requestId: unique('x'), openId: user, prizeId: off.prizeId }), GrpcStatus.FAILED_PRECONDITION, 'PRIZE_UNAVAILABLE');
      const e = await expectError(
        points().exchangePrize({ requestId: unique('x'), openId: user, prizeId: goods.prizeId, shipping: { address: '', userName: 'a', tel: '1' } }),
        GrpcStatus.INVALID_ARGUMENT,
      );
      expect(e.field).to.equal('shipping.address');
      await expectError(points().exchangePrize({ requestId: unique('x'), openId: user, prizeId: pricey.prizeId }), GrpcStatus.FAILED_PRECONDITION, 'INSUFFICIENT_POINTS');
      const e2 = await expectError(points().exchangePrize({ openId: user, prizeId: pricey.prizeId }), GrpcStatus.INVALID_ARGUMENT);
      expect(e2.field).to.equal('request_id');
      expect(await rowsOf(user)).to.deep.equal(before);
      expect(await stock(goods.prizeId)).to.equal('10');
      expect(await stock(pricey.prizeId)).to.equal('10');
      expect(await balanceOf(ctx().clients, user)).to.equal(50);
      expect((await points().listPrizes({ openId: user })).prizes.map((p) => p.prize?.prizeId)).not.to.include(off.prizeId);
    });

    it('SavePrize moves stock with total, refuses to go below what was exchanged, validates fields', async () => {
      const user = unique('u');
      await credit(ctx().clients, user, 1000);
      const prize = await savePrize(ctx().clients, { total: '3', exchangeLimit: ExchangeLimit.EXCHANGE_LIMIT_WEEK });
      await points().exchangePrize({ requestId: unique('x'), openId: user, prizeId: prize.prizeId });
      const raised = await points().savePrize({ prize: { ...prize, total: '10' } });
      expect([raised.prize?.total, raised.prize?.stock]).to.deep.equal(['10', '9']);
      await expectError(points().savePrize({ prize: { ...prize, total: '0' } }), GrpcStatus.FAILED_PRECONDITION, 'STOCK_BELOW_ZERO');
      const lowered = await points().savePrize({ prize: { ...prize, total: '1' } });
      expect([lowered.prize?.total, lowered.prize?.stock]).to.deep.equal(['1', '0']);
      for (const [over, field] of [
        [{ faceValue: '0' }, 'prize.face_value'],
        [{ faceValue: '-5' }, 'prize.face_value'],
        [{ faceValue: '99999999999999' }, 'prize.face_value'],
        [{ title: '' }, 'prize.title'],
        [{ total: '-1' }, 'prize.total'],
        [{ type: PrizeType.PRIZE_TYPE_INTEGRAL }, 'prize.type'],
        [{ exchangeLimit: ExchangeLimit.EXCHANGE_LIMIT_UNSPECIFIED }, 'prize.exchange_limit'],
      ] as const) {
        const id = unique('bad');
        const e = await expectError(savePrize(ctx().clients, { prizeId: id, ...over }), GrpcStatus.INVALID_ARGUMENT);
        expect(e.field).to.equal(field);
        await expectError(points().getPrize({ prizeId: id }), GrpcStatus.NOT_FOUND, 'PRIZE_NOT_FOUND');
      }
    });

    it('SendPrize delivers a virtual prize debiting its face value, and only virtual ones', async () => {
      const user = unique('u');
      await credit(ctx().clients, user, 300);
      const prize = await savePrize(ctx().clients, { faceValue: '120', exchangeLimit: ExchangeLimit.EXCHANGE_LIMIT_ONCE });
      const sent = await points().sendPrize({ requestId: unique('s'), openId: user, prizeId: prize.prizeId });
      expect(sent.balanceAfter).to.equal('180');
      const goods = await savePrize(ctx().clients, { type: PrizeType.PRIZE_TYPE_GOODS });
      const e = await expectError(points().sendPrize({ requestId: unique('s'), openId: user, prizeId: goods.prizeId }), GrpcStatus.INVALID_ARGUMENT);
      expect(e.field).to.equal('prize_id');
      const other = await savePrize(ctx().clients, { faceValue: '120' });
      const custom = await points().sendPrize({ requestId: unique('s'), openId: user, prizeId: other.prizeId, faceValue: '30' });
      expect(custom.balanceAfter).to.equal('150');
      await checkLedger(knex(), user);
    });
  });

  describe('tasks', () => {
    it('claims a task reward only from to-claim, once per cycle, as a one-year lot; the cycle turns at midnight', async () => {
      const user = unique('u');
      const task = await saveTask(ctx().clients, { faceValue: '10', total: '3', model: pb.TaskModel.TASK_MODEL_PROGRESS });
      expect((await points().getTask({ taskId: task.taskId })).task?.title).to.equal('Check in');
      await expectError(points().receiveTaskAward({ requestId: unique('t'), openId: user, taskId: task.taskId }), GrpcStatus.FAILED_PRECONDITION, 'TASK_NOT_CLAIMABLE');

      await points().setUserTaskStatus({ openId: user, taskId: task.taskId, completeNum: '2', status: TaskStatus.TASK_STATUS_IN_PROGRESS });
      let listed = (await points().listTasks({ openId: user })).cyclicTasks.find((t) => t.task?.taskId === task.taskId);
      expect([listed?.currentTotal, listed?.status]).to.deep.equal(['2', TaskStatus.TASK_STATUS_IN_PROGRESS]);
      await expectError(points().receiveTaskAward({ requestId: unique('t'), openId: user, taskId: task.taskId }), GrpcStatus.FAILED_PRECONDITION, 'TASK_NOT_CLAIMABLE');

      await points().setUserTaskStatus({ openId: user, taskId: task.taskId, completeNum: '3', status: TaskStatus.TASK_STATUS_TO_CLAIM });
      const requestId = unique('t');
      const award = await points().receiveTaskAward({ requestId, openId: user, taskId: task.taskId });
      expect(award.record?.faceValue).to.equal('10');
      expect(award.record?.source).to.equal(PointsSource.POINTS_SOURCE_TASK);
      expect(award.record?.taskTitle).to.equal('Check in');
      expect(award.record?.expireTime?.toISOString()).to.equal(sh('2027-03-10T10:00:00').toISOString());
      const replay = await points().receiveTaskAward({ requestId, openId: user, taskId: task.taskId });
      expect(replay.record?.recordId).to.equal(award.record?.recordId);
      listed = (await points().listTasks({ openId: user })).cyclicTasks.find((t) => t.task?.taskId === task.taskId);
      expect(listed?.status).to.equal(TaskStatus.TASK_STATUS_DONE);
      await expectError(points().receiveTaskAward({ requestId: unique('t'), openId: user, taskId: task.taskId }), GrpcStatus.FAILED_PRECONDITION, 'TASK_NOT_CLAIMABLE');
      // An operator re-opening the claim in the same cycle cannot make it pay twice.
      await points().setUserTaskStatus({ openId: user, taskId: task.taskId, completeNum: '3', status: TaskStatus.TASK_STATUS_TO_CLAIM });
      await expectError(points().receiveTaskAward({ requestId: unique('t'), openId: user, taskId: task.taskId }), GrpcStatus.FAILED_PRECONDITION, 'TASK_NOT_CLAIMABLE');
      expect(await balanceOf(ctx().clients, user)).to.equal(10);

      clock.set(sh('2026-03-10T23:59:59'));
      listed = (await points().listTasks({ openId: user })).cyclicTasks.find((t) => t.task?.taskId === task.taskId);
      expect(listed?.currentTotal).to.equal('3');
      clock.set(sh('2026-03-11T00:00:00'));
      listed = (await points().listTasks({ openId: user })).cyclicTasks.find((t) => t.task?.taskId === task.taskId);
      expect([listed?.currentTotal, listed?.status]).to.deep.equal(['0', TaskStatus.TASK_STATUS_IN_PROGRESS]);
      // A date no other test visits, so no earlier run of that day (scheduler tick) can exist.
      clock.set(sh('2026-03-12T00:00:00'));
      await points().runDailyJob({});
      const row = (await knex()('points_user_tasks').where({ open_id: user, task_id: task.taskId }).first()) as { status: unknown; complete_num: unknown; cycle_key: string };
      expect([Number(row.status), Number(row.complete_num), row.cycle_key]).to.deep.equal([1, 0, '2026-03-12']);
      await points().setUserTaskStatus({ openId: user, taskId: task.taskId, completeNum: '3', status: TaskStatus.TASK_STATUS_TO_CLAIM });
      await points().receiveTaskAward({ requestId: unique('t'), openId: user, taskId: task.taskId });
      expect(await balanceOf(ctx().clients, user)).to.equal(20);
      await checkLedger(knex(), user);
    });

    it('permanent tasks never reset', async () => {
      const user = unique('u');
      const task = await saveTask(ctx().clients, { type: pb.TaskType.TASK_TYPE_PERMANENT, cycle: undefined });
      await points().setUserTaskStatus({ openId: user, taskId: task.taskId, completeNum: '1', status: TaskStatus.TASK_STATUS_TO_CLAIM });
      await points().receiveTaskAward({ requestId: unique('t'), openId: user, taskId: task.taskId });
      clock.set(sh('2026-09-01T00:00:00'));
      const listed = (await points().listTasks({ openId: user })).permanentTasks.find((t) => t.task?.taskId === task.taskId);
      expect([listed?.currentTotal, listed?.status]).to.deep.equal(['1', TaskStatus.TASK_STATUS_DONE]);
    });

    it('validates tasks and statuses and writes nothing on bad input', async () => {
      const user = unique('u');
      const task = await saveTask(ctx().clients, { total: '5' });
      const bad = async (req: Parameters<ReturnType<typeof points>['setUserTaskStatus']>[0], field: string): Promise<void> => {
        const e = await expectError(points().setUserTaskStatus(req), GrpcStatus.INVALID_ARGUMENT);
        expect(e.field).to.equal(field);
      };
      await bad({ openId: user, taskId: task.taskId, completeNum: '6', status: TaskStatus.TASK_STATUS_IN_PROGRESS }, 'complete_num');
      await bad({ openId: user, taskId: task.taskId, completeNum: '-1', status: TaskStatus.TASK_STATUS_IN_PROGRESS }, 'complete_num');
      await bad({ openId: user, taskId: task.taskId, completeNum: '4', status: TaskStatus.TASK_STATUS_TO_CLAIM }, 'status');
      await bad({ openId: user, taskId: task.taskId, completeNum: '4', status: TaskStatus.TASK_STATUS_DONE }, 'status');
      await bad({ openId: user, taskId: task.taskId, completeNum: '5' }, 'status');
      await expectError(points().setUserTaskStatus({ openId: user, taskId: 'no-such-task', completeNum: '1', status: 2 }), GrpcStatus.NOT_FOUND, 'TASK_NOT_FOUND');
      await expectError(points().receiveTaskAward({ requestId: unique('t'), openId: user, taskId: 'no-such-task' }), GrpcStatus.NOT_FOUND, 'TASK_NOT_FOUND');
      expect(await rowsOf(user)).to.deep.equal([0, 0, 0, 0]);

      for (const [over, field] of [
        [{ faceValue: '0' }, 'task.face_value'],
        [{ faceValue: '-1' }, 'task.face_value'],
        [{ total: '0' }, 'task.total'],
        [{ title: '' }, 'task.title'],
        [{ type: pb.TaskType.TASK_TYPE_UNSPECIFIED }, 'task.type'],
        [{ cycle: { title: '', type: pb.CycleType.CYCLE_TYPE_WEEKDAY, day: 8 } }, 'task.cycle.day'],
        [{ cycle: { title: '', type: pb.CycleType.CYCLE_TYPE_MONTH_DAY, day: 0 } }, 'task.cycle.day'],
        [{ cycle: undefined }, 'task.cycle.type'],
        [{ button: { title: '', type: pb.ButtonType.BUTTON_TYPE_QR_CODE, path: '', imageUrl: '' } }, 'task.button.image_url'],
        [{ model: pb.TaskModel.TASK_MODEL_UNSPECIFIED }, 'task.model'],
      ] as const) {
        const id = unique('bad');
        const e = await expectError(saveTask(ctx().clients, { taskId: id, ...over }), GrpcStatus.INVALID_ARGUMENT);
        expect(e.field, JSON.stringify(over)).to.equal(field);
        await expectError(points().getTask({ taskId: id }), GrpcStatus.NOT_FOUND);
      }
    });
  });

  describe('daily job', () => {
    it('two concurrent RunDailyJob calls run the job one at a time: one does the day, the other finds it done', async () => {
      await points().savePointsRule({ ruleDetail: 'sign: 1 day', sourceExpiries: [{ source: PointsSource.POINTS_SOURCE_SIGN, validityDays: 1 }] });
      try {
        clock.set(sh('2028-06-10T10:00:00'));
        const users = Array.from({ length: 20 }, () => unique('job'));
        for (const u of users) for (let i = 0; i < 5; i += 1) await credit(ctx().clients, u, 2, PointsSource.POINTS_SOURCE_SIGN);
        clock.set(sh('2028-06-12T00:00:00'));
        const runs = await Promise.all([points().runDailyJob({}), points().runDailyJob({})]);
        // Without the lock both would find the day unfinished and run the body side by side.
        expect(runs.filter((r) => !r.alreadyFinished), JSON.stringify(runs)).to.have.length.at.most(1);
        expect(runs.every((r) => r.finished && r.runDate === '2028-06-12')).to.equal(true);
        const expired = (await knex()('points_changes').whereIn('open_id', users).where('source', 'expiredTask')) as unknown[];
        expect(expired).to.have.lengthOf(100);
        for (const u of users) expect((await checkLedger(knex(), u)).balance).to.equal(0);
      } finally {
        await points().savePointsRule({ ruleDetail: 'rule', sourceExpiries: [] });
      }
    });
  });

  describe('bad amounts and auth', () => {
    it('refuses zero, negative, fractional, huge and missing amounts, naming the field', async () => {
      const user = unique('u');
      // Fractions and words cannot cross the wire as int64; the bridge tests cover them.
      for (const faceValue of ['0', '-3', '1000000000001', '9223372036854775807', '']) {
        const e = await expectError(
          points().changePoints({ requestId: unique('r'), openId: user, direction: ChangeDirection.CHANGE_DIRECTION_CREDIT, faceValue, source: PointsSource.POINTS_SOURCE_OTHER }),
          GrpcStatus.INVALID_ARGUMENT,
        );
        expect(e.field, faceValue).to.equal('face_value');
      }
      const noSource = await expectError(
        points().changePoints({ requestId: unique('r'), openId: user, direction: ChangeDirection.CHANGE_DIRECTION_CREDIT, faceValue: '1', source: PointsSource.POINTS_SOURCE_EXPIRED_TASK }),
        GrpcStatus.INVALID_ARGUMENT,
      );
      expect(noSource.field).to.equal('source');
      const noDirection = await expectError(
        points().changePoints({ requestId: unique('r'), openId: user, faceValue: '1', source: PointsSource.POINTS_SOURCE_OTHER }),
        GrpcStatus.INVALID_ARGUMENT,
      );
      expect(noDirection.field).to.equal('direction');
      const noUser = await expectError(points().getUserPoints({ openId: '' }), GrpcStatus.INVALID_ARGUMENT);
      expect(noUser.field).to.equal('open_id');
      expect(await rowsOf(user)).to.deep.equal([0, 0, 0, 0]);
    });

    it('C-end apps cannot call B-end methods', async () => {
      const { clients } = await ctx().clientsWithScopes(['points']);
      const user = unique('u');
      expect((await clients.points.getUserPoints({ openId: user })).points).to.equal('0');
      const e = await expectError(
        clients.points.changePoints({ requestId: unique('r'), openId: user, direction: ChangeDirection.CHANGE_DIRECTION_CREDIT, faceValue: '5', source: PointsSource.POINTS_SOURCE_OTHER }),
        GrpcStatus.PERMISSION_DENIED,
        'SCOPE_MISSING',
      );
      expect(e.metadata.scope).to.equal('points.admin');
      await expectError(clients.points.runDailyJob({}), GrpcStatus.PERMISSION_DENIED);
      expect(await balanceOf(ctx().clients, user)).to.equal(0);
    });
  });
});
