import { expect } from 'chai';
import { GrpcStatus, member } from '@huodong/clients';
import { STORE_KINDS, startTestApp, type TestApp } from '../../support/app.js';
import { FakeClock } from '../../support/clock.js';
import { expectError } from '../../support/errors.js';
import { tableCounts } from '../../support/member.js';
import { expectLedgerBalanced, newUid } from './helpers.js';

const DAY = 86_400_000;

/** A task with seed 001's defaults; tests override what they exercise. */
function task(id: number, op: string, extra: Partial<member.TaskConfig> = {}): member.TaskConfig {
  return {
    id,
    op,
    name: op,
    desc: `task ${op}`,
    score: '1',
    cpoint: '1',
    stepScore: '',
    stepCpoint: '',
    status: 0,
    sTime: undefined,
    eTime: undefined,
    sGrade: -1,
    eGrade: -1,
    batch: 1,
    repeat: 1,
    rFlag: 0,
    rRatio: 0,
    rCount: -1,
    rCpoint: '-1',
    rScore: '-1',
    rFilter: 0,
    rStep: 0,
    uTime: undefined,
    ...extra,
  };
}

for (const store of STORE_KINDS) {
  describe(`MemberService tasks and grades [${store}]`, function () {
    // 2026-03-11 00:00 in Shanghai (a Wednesday). It is day 20523 since 1970-01-01, an odd day,
    // so it is the second day of a 2-day cycle: tests of 2-day cycles set their own start.
    const clock = new FakeClock('2026-03-10T16:00:00Z');
    let t: TestApp;
    let ids = 100;
    let req = 0;
    const m = () => t.clients.member;
    const submit = (uid: string, op: string, extra: Partial<member.SubmitTaskRequest> = {}) =>
      m().submitTask({ requestId: `r-${++req}`, uid, op, ...extra });

    before(async () => {
      t = await startTestApp(store, { clock });
    });
    after(async () => {
      await t?.stop();
    });
    beforeEach(() => clock.set('2026-03-10T16:00:00Z'));

    it('stores every seed field, including the op mapping, and lists it', async () => {
      const id = ++ids;
      const stored = await m().updateTaskConfig({
        task: task(id, 'fields', { stepScore: '1:2,20:40.5', stepCpoint: '3:1', sTime: new Date(100_000), eTime: new Date(4_000_000_000_000), sGrade: 1, eGrade: 9, batch: 0, repeat: 1, rFlag: 2, rRatio: 3, rCount: 7, rCpoint: '9.5', rScore: '12', rFilter: 1, rStep: 1 }),
      });
      expect(stored.task).to.include({ id, op: 'fields', stepScore: '1:2.00,20:40.50', rCpoint: '9.50', rScore: '12.00', rFlag: 2, rRatio: 3 });
      const listed = (await m().listTaskConfigs({})).tasks.find((x) => x.id === id);
      expect(listed?.sTime).to.deep.equal(new Date(100_000));
      expect(listed?.eTime).to.deep.equal(new Date(4_000_000_000_000));
      expect(listed).to.include({ op: 'fields', sGrade: 1, eGrade: 9, batch: 0, rCount: 7, rFilter: 1, rStep: 1 });
      expect(listed?.uTime).to.deep.equal(clock.now());
      // Upsert by id: same id, new values.
      await m().updateTaskConfig({ task: task(id, 'fields', { name: 'renamed' }) });
      expect((await m().listTaskConfigs({})).tasks.filter((x) => x.id === id).map((x) => x.name)).to.deep.equal(['renamed']);
      // Unset optional fields get the seed's defaults.
      const { sGrade: _s, eGrade: _e, batch: _b, repeat: _r, rCount: _c, ...bare } = task(++ids, 'defaults');
      const defaults = await m().updateTaskConfig({ task: bare as member.TaskConfig });
      expect(defaults.task).to.include({ sGrade: -1, eGrade: -1, batch: 1, repeat: 1, rCount: -1, rCpoint: '-1', rScore: '-1' });
    });

    it('refuses bad task configs naming the field, and an op owned by another task', async () => {
      const cases: Array<[Partial<member.TaskConfig>, string]> = [
        [{ stepScore: '1:2,1:3' }, 'task.step_score'],
        [{ stepCpoint: '1:2.001' }, 'task.step_cpoint'],
        [{ cpoint: '-1' }, 'task.cpoint'],
        [{ status: 2 }, 'task.status'],
        [{ rFlag: 3 }, 'task.r_flag'],
        [{ rCount: -2 }, 'task.r_count'],
        [{ rCpoint: 'x' }, 'task.r_cpoint'],
        [{ op: '' }, 'task.op'],
        [{ sTime: new Date(200_000), eTime: new Date(100_000) }, 'task.e_time'],
      ];
      for (const [extra, field] of cases) {
        const e = await expectError(m().updateTaskConfig({ task: task(++ids, 'bad', extra) }), GrpcStatus.INVALID_ARGUMENT);
        expect(e.field, JSON.stringify(extra)).to.equal(field);
      }
      await m().updateTaskConfig({ task: task(++ids, 'owned') });
      expect((await expectError(m().updateTaskConfig({ task: task(++ids, 'owned') }), GrpcStatus.INVALID_ARGUMENT)).field).to.equal('task.op');
      const perm = await t.clientsWithScopes(['member']);
      await expectError(perm.clients.member.updateTaskConfig({ task: task(++ids, 'x') }), GrpcStatus.PERMISSION_DENIED);
    });

    it('an unknown op is code 2 and writes only its final answer; bad submissions are INVALID_ARGUMENT', async () => {
      const uid = newUid();
      const before = await tableCounts(t);
      const res = await submit(uid, 'no-such-op');
      expect(res).to.include({ code: 2, cpoint: '0.00', score: '0.00', newCpoint: '0.00' });
      // The answer is stored under its request id (a replay after such a task exists must not
      // award it, issue 16), and nothing else is written.
      const answered = await tableCounts(t);
      expect(answered).to.deep.equal({ ...before, member_requests: (before.member_requests ?? 0) + 1 });
      await m().updateTaskConfig({ task: task(++ids, 'valid-op') });
      expect((await expectError(submit('', 'valid-op'), GrpcStatus.INVALID_ARGUMENT)).field).to.equal('uid');
      expect((await expectError(submit(uid, 'valid-op', { times: -1 }), GrpcStatus.INVALID_ARGUMENT)).field).to.equal('times');
      expect((await expectError(submit(uid, 'valid-op', { times: 1001 }), GrpcStatus.INVALID_ARGUMENT)).field).to.equal('times');
      expect((await expectError(submit(uid, '', {}), GrpcStatus.INVALID_ARGUMENT)).field).to.equal('op');
      expect((await expectError(m().submitTask({ requestId: '', uid, op: 'valid-op' }), GrpcStatus.INVALID_ARGUMENT)).field).to.equal('request_id');
      expect(await tableCounts(t)).to.deep.equal(answered);
    });

    it('awards c-points and experience into the ledger and answers totals and the grade table', async () => {
      await m().updateGradeConfigs({ grades: [{ grade: 1, score: '0' }, { grade: 2, score: '5' }] });
      await m().updateTaskConfig({ task: task(++ids, 'award', { cpoint: '1.5', score: '2' }) });
      const uid = newUid();
      const r1 = await submit(uid, 'award', { times: 2 });
      expect(r1).to.deep.include({ code: 0, cpoint: '3.00', score: '4.00', newCpoint: '3.00', newScore: '4.00', grade: 1 });
      expect(r1.grades).to.deep.equal([{ grade: 1, score: '0.00' }, { grade: 2, score: '5.00' }]);
      const r2 = await submit(uid, 'award');
      expect(r2).to.include({ newCpoint: '4.50', newScore: '6.00', grade: 2 });
      expect(await expectLedgerBalanced(t, uid)).to.equal(450);
      const info = await m().batchGetUserInfo({ uids: [uid] });
      expect(info.users[0]).to.deep.equal({ uid, cpoint: '4.50', score: '6.00', grade: 2 });
    });

    it('replays a request_id with the first answer; other params are IDEMPOTENCY_KEY_REUSED', async () => {
      await m().updateTaskConfig({ task: task(++ids, 'idem', { cpoint: '1' }) });
      const uid = newUid();
      const first = await m().submitTask({ requestId: `idem-${uid}`, uid, op: 'idem' });
      const again = await m().submitTask({ requestId: `idem-${uid}`, uid, op: 'idem' });
      expect(again).to.deep.equal(first);
      expect((await m().getCpoint({ uid })).cpoint).to.equal('1.00');
      await expectError(m().submitTask({ requestId: `idem-${uid}`, uid, op: 'idem', times: 2 }), GrpcStatus.ALREADY_EXISTS, 'IDEMPOTENCY_KEY_REUSED');
    });

    it('status, time window, grade window, batch and repeat rules answer code 1 and award nothing', async () => {
      await m().updateGradeConfigs({ grades: [{ grade: 1, score: '0' }, { grade: 2, score: '10' }] });
      const now = Math.floor(clock.now().getTime() / 1000);
      await m().updateTaskConfig({ task: task(++ids, 'closed', { status: 1 }) });
      await m().updateTaskConfig({ task: task(++ids, 'later', { sTime: new Date((now + 60) * 1000) }) });
      await m().updateTaskConfig({ task: task(++ids, 'over', { eTime: new Date((now - 1) * 1000) }) });
      await m().updateTaskConfig({ task: task(++ids, 'grade2', { sGrade: 2 }) });
      await m().updateTaskConfig({ task: task(++ids, 'grade1only', { eGrade: 1, score: '10' }) });
      await m().updateTaskConfig({ task: task(++ids, 'single', { batch: 0 }) });
      await m().updateTaskConfig({ task: task(++ids, 'once', { repeat: 0 }) });
      const uid = newUid();
      expect(await submit(uid, 'closed')).to.include({ code: 1, rule: 'status', cpoint: '0.00' });
      expect(await submit(uid, 'later')).to.include({ code: 1, rule: 's_time' });
      clock.advance(61_000);
      expect(await submit(uid, 'later')).to.include({ code: 0 });
      expect(await submit(uid, 'over')).to.include({ code: 1, rule: 'e_time' });
      expect(await submit(uid, 'grade2')).to.include({ code: 1, rule: 's_grade' });
      expect(await submit(uid, 'grade1only')).to.include({ code: 0, grade: 2 });
      expect(await submit(uid, 'grade1only')).to.include({ code: 1, rule: 'e_grade' });
      expect(await submit(uid, 'grade2')).to.include({ code: 0 });
      expect(await submit(uid, 'single', { times: 2 })).to.include({ code: 1, rule: 'batch' });
      expect(await submit(uid, 'single', { times: 1 })).to.include({ code: 0 });
      expect(await submit(uid, 'once')).to.include({ code: 0, cpoint: '1.00' });
      clock.advance(400 * DAY);
      expect(await submit(uid, 'once')).to.include({ code: 1, rule: 'repeat' });
      expect(await expectLedgerBalanced(t, uid)).to.equal(500);
    });

    it('a cycle of 2 days (r_flag 1, r_ratio 2) with r_count 2 spans two local days, then resets', async () => {
      await m().updateTaskConfig({ task: task(++ids, 'two-day', { rFlag: 1, rRatio: 2, rCount: 2 }) });
      const uid = newUid();
      // 2026-03-12 00:00 local is day 20524 since 1970-01-01, an even day: a cycle's first day.
      clock.set('2026-03-11T16:00:00Z');
      expect(await submit(uid, 'two-day', { times: 3 })).to.include({ code: 0, cpoint: '2.00' });
      expect(await submit(uid, 'two-day')).to.include({ code: 1, rule: 'r_count' });
      // 2026-03-13 23:59:59 local, the last second of the cycle's second day: with daily cycles
      // (r_ratio 1) this would be a new cycle with 2 completions left.
      clock.set('2026-03-13T15:59:59Z');
      expect(await submit(uid, 'two-day')).to.include({ code: 1, rule: 'r_count' });
      clock.set('2026-03-13T16:00:00Z'); // 2026-03-14 00:00 local, the third day: a new cycle
      expect(await submit(uid, 'two-day')).to.include({ code: 0, cpoint: '1.00' });
      expect(await submit(uid, 'two-day')).to.include({ code: 0 });
      expect(await submit(uid, 'two-day')).to.include({ code: 1, rule: 'r_count' });
      expect(await expectLedgerBalanced(t, uid)).to.equal(400);
    });

    it('weekly cycles (r_flag 2) turn on Monday 00:00 in Asia/Shanghai', async () => {
      await m().updateTaskConfig({ task: task(++ids, 'weekly', { rFlag: 2, rRatio: 1, rCount: 1 }) });
      const uid = newUid();
      clock.set('2026-03-15T15:59:00Z'); // Sunday 23:59 local
      expect(await submit(uid, 'weekly')).to.include({ code: 0 });
      clock.set('2026-03-15T15:59:59Z');
      expect(await submit(uid, 'weekly')).to.include({ code: 1, rule: 'r_count' });
      clock.set('2026-03-15T16:00:00Z'); // Monday 00:00 local
      expect(await submit(uid, 'weekly')).to.include({ code: 0 });
    });

    it('a per-cycle c-point cap is reached mid-award: the rest is cut, then code 1 until the next cycle', async () => {
      await m().updateTaskConfig({ task: task(++ids, 'capped', { cpoint: '3', score: '0', rFlag: 1, rRatio: 1, rCpoint: '5' }) });
      const uid = newUid();
      expect(await submit(uid, 'capped')).to.include({ code: 0, cpoint: '3.00' });
      expect(await submit(uid, 'capped')).to.include({ code: 0, cpoint: '2.00', newCpoint: '5.00' });
      expect(await submit(uid, 'capped')).to.include({ code: 1, rule: 'r_cpoint', cpoint: '0.00' });
      clock.advance(DAY);
      expect(await submit(uid, 'capped', { times: 4 })).to.include({ code: 0, cpoint: '5.00', newCpoint: '10.00' });
      expect(await expectLedgerBalanced(t, uid)).to.equal(1000);
    });

    it('a per-cycle experience cap (r_score) caps experience, not c-points', async () => {
      await m().updateTaskConfig({ task: task(++ids, 'scorecap', { cpoint: '1', score: '4', rFlag: 1, rRatio: 1, rScore: '6' }) });
      const uid = newUid();
      expect(await submit(uid, 'scorecap', { times: 2 })).to.include({ code: 0, cpoint: '2.00', score: '6.00' });
      expect(await submit(uid, 'scorecap')).to.include({ code: 0, cpoint: '1.00', score: '0.00' });
    });

    it('step rewards change at the 20th completion, over all time (r_step 0) or per cycle (r_step 1)', async () => {
      await m().updateTaskConfig({ task: task(++ids, 'steps-all', { stepCpoint: '1:2,20:40.5', stepScore: '1:1', rFlag: 1, rRatio: 1, rStep: 0 }) });
      await m().updateTaskConfig({ task: task(++ids, 'steps-cycle', { stepCpoint: '1:2,20:40.5', rFlag: 1, rRatio: 1, rStep: 1 }) });
      const uid = newUid();
      expect(await submit(uid, 'steps-all', { times: 19 })).to.include({ code: 0, cpoint: '38.00', score: '19.00' });
      expect(await submit(uid, 'steps-all')).to.include({ cpoint: '40.50' });
      clock.advance(DAY);
      expect(await submit(uid, 'steps-all'), 'all-time count: 21st').to.include({ cpoint: '40.50' });

      const other = newUid();
      clock.set('2026-03-10T16:00:00Z');
      expect(await submit(other, 'steps-cycle', { times: 18 })).to.include({ cpoint: '36.00' });
      expect(await submit(other, 'steps-cycle', { times: 2 }), '19th and 20th').to.include({ cpoint: '42.50' });
      clock.advance(DAY);
      expect(await submit(other, 'steps-cycle'), 'a new cycle counts from 1 again').to.include({ cpoint: '2.00' });
      await expectLedgerBalanced(t, uid);
      await expectLedgerBalanced(t, other);
    });

    it('r_filter counts the same target once per cycle', async () => {
      await m().updateTaskConfig({ task: task(++ids, 'filtered', { rFilter: 1, rFlag: 1, rRatio: 1 }) });
      const uid = newUid();
      expect(await submit(uid, 'filtered', { target: 'post-1' })).to.include({ code: 0 });
      expect(await submit(uid, 'filtered', { target: 'post-1' })).to.include({ code: 1, rule: 'r_filter' });
      expect(await submit(uid, 'filtered', { target: 'post-2' })).to.include({ code: 0 });
      clock.advance(DAY);
      expect(await submit(uid, 'filtered', { target: 'post-1' })).to.include({ code: 0 });
    });

    it('racing submissions of one user never exceed r_count', async () => {
      await m().updateTaskConfig({ task: task(++ids, 'raced', { rFlag: 1, rRatio: 1, rCount: 5 }) });
      const uid = newUid();
      const results = await Promise.allSettled(Array.from({ length: 40 }, () => submit(uid, 'raced')));
      const codes = results.map((r) => (r.status === 'fulfilled' ? r.value.code : -1));
      expect(codes.filter((c) => c === 0)).to.have.lengthOf(5);
      expect((await m().getCpoint({ uid })).cpoint).to.equal('5.00');
      await expectLedgerBalanced(t, uid);
    });

    it('a user created by any call starts at the grade 0 experience reaches (grades {1: 0, 2: 100})', async () => {
      await m().updateGradeConfigs({ grades: [{ grade: 1, score: '0' }, { grade: 2, score: '100' }] });
      await m().updateTaskConfig({ task: task(++ids, 'grade1-and-up', { sGrade: 1 }) });
      const uid = newUid();
      await m().adminAddCpoint({ requestId: `grade-${uid}`, uid, cpoint: '5', adminId: 'ops' });
      expect(await m().getCpoint({ uid })).to.deep.equal({ cpoint: '5.00' });
      expect((await m().batchGetUserInfo({ uids: [uid] })).users).to.deep.equal([{ uid, cpoint: '5.00', score: '0.00', grade: 1 }]);
      // The regrade put every older user at grade 1 or above; a new row must not sort below them.
      const lowest = (await m().listUsersSorted({ sortField: member.SortField.SORT_FIELD_GRADE, sortOrder: member.SortOrder.SORT_ORDER_ASC, limit: 1 })).users[0];
      expect(lowest?.grade, 'the lowest stored grade').to.equal(1);
      expect(await submit(uid, 'grade1-and-up')).to.include({ code: 0, grade: 1 });
      // A user whose first call is SubmitTask is created inside that call, at grade 1 too.
      expect(await submit(newUid(), 'grade1-and-up')).to.include({ code: 0, grade: 1 });
    });

    it('grades come from experience, never drop when c-points are spent, and regrade on a new table', async () => {
      await m().updateGradeConfigs({ grades: [{ grade: 1, score: '0' }, { grade: 2, score: '10' }, { grade: 3, score: '20' }] });
      await m().updateTaskConfig({ task: task(++ids, 'exp', { cpoint: '10', score: '15' }) });
      const uid = newUid();
      expect(await submit(uid, 'exp')).to.include({ grade: 2, newScore: '15.00' });
      await m().consumeCpoint({ orderId: `${uid}-spend`, uid, cpoint: '10' });
      expect((await m().batchGetUserInfo({ uids: [uid] })).users[0]).to.deep.equal({ uid, cpoint: '0.00', score: '15.00', grade: 2 });
      await m().updateGradeConfigs({ grades: [{ grade: 1, score: '0' }, { grade: 2, score: '5' }, { grade: 3, score: '15' }] });
      expect((await m().batchGetUserInfo({ uids: [uid] })).users[0]?.grade).to.equal(3);
      expect((await m().listGradeConfigs({})).grades).to.deep.equal([
        { grade: 1, score: '0.00' },
        { grade: 2, score: '5.00' },
        { grade: 3, score: '15.00' },
      ]);
      const e = await expectError(m().updateGradeConfigs({ grades: [{ grade: 1, score: '10' }, { grade: 2, score: '5' }] }), GrpcStatus.INVALID_ARGUMENT);
      expect(e.field).to.equal('grades.score');
      expect((await m().listGradeConfigs({})).grades).to.have.lengthOf(3);
    });
  });
}
