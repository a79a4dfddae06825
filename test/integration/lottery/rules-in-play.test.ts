/** Rules that hold once an activity is in play: the prize lock, and when shares count. */
import { expect } from 'chai';
import { GrpcStatus, lottery as pb } from '@huodong/clients';
import { expectError } from '../../support/errors.js';
import { describeLottery, enter, HOUR, MINUTE, newOpenid, prize, save, session, START, type LotteryCtx } from './support.js';

const start = new Date(START).getTime();
const SHARE_ON = { enabled: true, title: 's', desc: '', link: '', img: '' };

async function row(ctx: LotteryCtx, id: number): Promise<Record<string, unknown>> {
  return ctx.t.app.db.knex('ims_scratch_activity').where({ id }).first() as Promise<Record<string, unknown>>;
}

describeLottery('LotteryService prize lock once started', (ctx) => {
  const fixed = prize({ type: pb.PrizeType.PRIZE_TYPE_RED, name: '定额红包', sum: 5, chance: '10', money: '8.88' });
  const random = prize({ type: pb.PrizeType.PRIZE_TYPE_RED, name: '随机红包', sum: 0, chance: '10', money: '100', min: '0.5', max: '5' });
  const bike = prize({ name: '自行车', sum: 5, chance: '10' });

  /** Saves the three prizes with a session starting an hour after START, then moves the clock to `at`. */
  async function started(at = start + HOUR): Promise<pb.Activity> {
    const a = await save(ctx(), { prizes: [fixed, random, bike], sessions: [session(start + HOUR, start + 2 * HOUR)] });
    ctx().clock.set(new Date(at));
    return a;
  }

  it('refuses changed red packet amounts, even raised ones, naming the field and writing nothing', async () => {
    const a = await started();
    const before = await row(ctx(), a.activityId);
    const { lottery } = ctx().t.clients;
    for (const [prizes, field] of [
      [[{ ...fixed, money: '9.99' }, random, bike], 'activity.prizes[0].money'],
      [[{ ...fixed, money: '1.00' }, random, bike], 'activity.prizes[0].money'],
      [[fixed, { ...random, money: '200' }, bike], 'activity.prizes[1].money'],
      [[fixed, { ...random, min: '0.6' }, bike], 'activity.prizes[1].money'],
      [[fixed, { ...random, max: '4' }, bike], 'activity.prizes[1].money'],
      [[fixed, random, { ...bike, name: '电动车' }], 'activity.prizes[2]'],
      [[fixed, random, { ...bike, type: pb.PrizeType.PRIZE_TYPE_COUPON }], 'activity.prizes[2]'],
      [[fixed, random, { ...bike, sum: 4, chance: '20' }], 'activity.prizes[2].sum'],
      [[fixed, random], 'activity.prizes'],
    ] as Array<[pb.Prize[], string]>) {
      // Other fields of the same request must not be written either.
      const e = await expectError(lottery.saveActivity({ activity: { ...a, title: '改过的标题', prizes } }), GrpcStatus.FAILED_PRECONDITION, 'PRIZES_LOCKED');
      expect(e.metadata.field, field).to.equal(field);
      expect(e.message).to.contain(field);
    }
    expect(await row(ctx(), a.activityId)).to.deep.equal(before);
    const got = await lottery.getActivity({ activityId: a.activityId });
    expect(got.activity?.title).to.equal('刮刮卡');
    expect(got.activity?.prizes.map((p) => [p.name, p.sum, p.chance, p.money, p.min, p.max])).to.deep.equal([
      ['定额红包', 5, '10', '8.88', '0.00', '0.00'],
      ['随机红包', 0, '10', '100.00', '0.50', '5.00'],
      ['自行车', 5, '10', '0.00', '0.00', '0.00'],
    ]);
  });

  it('a minute before the first session anything goes; from its first millisecond the table is locked', async () => {
    const a = await started(start + HOUR - MINUTE);
    const { lottery } = ctx().t.clients;
    const lowered = await lottery.saveActivity({ activity: { ...a, prizes: [{ ...fixed, money: '1.00', sum: 1 }, { ...random, chance: '5' }] } });
    expect(lowered.activity?.prizes.map((p) => [p.money, p.sum, p.chance])).to.deep.equal([['1.00', 1, '10'], ['100.00', 0, '5']]);
    ctx().clock.set(new Date(start + HOUR));
    const e = await expectError(lottery.saveActivity({ activity: { ...a, prizes: [fixed, random] } }), GrpcStatus.FAILED_PRECONDITION, 'PRIZES_LOCKED');
    expect(e.metadata.field).to.equal('activity.prizes[0].money');
  });

  it('stays locked after the sessions end, and moving the sessions in the same save does not unlock it', async () => {
    const a = await started(start + 3 * HOUR);
    const { lottery } = ctx().t.clients;
    const later = [session(start + 24 * HOUR, start + 25 * HOUR)];
    for (const [prizes, field] of [
      [[fixed, { ...random, chance: '9.9' }, bike], 'activity.prizes[1].chance'],
      [[fixed, random, { ...bike, sum: 0, chance: '0' }], 'activity.prizes[2].chance'],
    ] as Array<[pb.Prize[], string]>) {
      const e = await expectError(lottery.saveActivity({ activity: { ...a, sessions: later, prizes } }), GrpcStatus.FAILED_PRECONDITION, 'PRIZES_LOCKED');
      expect(e.metadata.field).to.equal(field);
    }
    const got = await lottery.getActivity({ activityId: a.activityId });
    expect(got.activity?.sessions[0]?.startTime?.getTime()).to.equal(start + HOUR);
    expect(got.state?.phase).to.equal(pb.Phase.PHASE_ENDED);
    // Raising and appending is still allowed after the end.
    const raised = await lottery.saveActivity({ activity: { ...a, prizes: [fixed, random, { ...bike, sum: 6 }, prize({ name: '新奖', sum: 1, chance: '1' })] } });
    expect(raised.activity?.prizes.map((p) => [p.name, p.sum])).to.deep.equal([['定额红包', 5], ['随机红包', 0], ['自行车', 6], ['新奖', 1]]);
  });

  it('moving the sessions into the future in one save does not unlock the prizes for the next', async () => {
    const a = await started();
    const { lottery } = ctx().t.clients;
    const { token } = await enter(ctx(), a.code, newOpenid());
    await lottery.draw({ token, requestId: 'played' });
    const moved = await lottery.saveActivity({ activity: { ...a, sessions: [session(start + 24 * HOUR, start + 25 * HOUR)] } });
    expect((await lottery.getActivity({ activityId: a.activityId })).state?.phase).to.equal(pb.Phase.PHASE_NOT_STARTED);
    const e = await expectError(
      lottery.saveActivity({ activity: { ...moved.activity, prizes: [fixed, random, { ...bike, name: '电动车', sum: 0, chance: '0' }] } as pb.Activity }),
      GrpcStatus.FAILED_PRECONDITION,
      'PRIZES_LOCKED',
    );
    expect(e.metadata.field).to.equal('activity.prizes[2]');
    expect((await lottery.getActivity({ activityId: a.activityId })).activity?.prizes[2]).to.include({ name: '自行车', sum: 5, chance: '10' });
  });

  it('an activity that never saw a play may still have its prizes changed after moving its sessions', async () => {
    const a = await started();
    const { lottery } = ctx().t.clients;
    const moved = await lottery.saveActivity({ activity: { ...a, sessions: [session(start + 24 * HOUR, start + 25 * HOUR)] } });
    const changed = await lottery.saveActivity({ activity: { ...moved.activity, prizes: [fixed, random, { ...bike, sum: 1 }] } as pb.Activity });
    expect(changed.activity?.prizes[2]?.sum).to.equal(1);
  });
});

describeLottery('LotteryService shares outside a session', (ctx) => {
  const share = async (token: string): Promise<pb.ShareResponse> => ctx().t.clients.lottery.share({ token });
  const sharesNow = async (token: string): Promise<number | undefined> => (await ctx().t.clients.lottery.getActivityInfo({ token })).user?.sessionShares;

  it('a share before the first session starts is not counted, nor charged to that session', async () => {
    const a = await save(ctx(), { maxEplay: 1, maxShare: 1, share: SHARE_ON, sessions: [session(start + HOUR, start + 2 * HOUR)] });
    const openid = newOpenid();
    const early = await share((await enter(ctx(), a.code, openid)).token);
    expect(early.counted).to.equal(false);
    expect(early.user).to.include({ sessionShares: 0, playsLeft: 0 });
    ctx().clock.set(new Date(start + HOUR));
    const { token } = await enter(ctx(), a.code, openid);
    expect(await sharesNow(token)).to.equal(0);
    const inSession = await share(token);
    expect(inSession.counted).to.equal(true);
    expect(inSession.user).to.include({ sessionShares: 1, playsLeft: 2 });
  });

  it('a share between sessions and after the last is not counted; shares reset each session', async () => {
    const a = await save(ctx(), {
      maxEplay: 1,
      maxShare: 1,
      share: SHARE_ON,
      sessions: [session(start - HOUR, start + HOUR), session(start + 2 * HOUR, start + 3 * HOUR)],
    });
    const openid = newOpenid();
    let { token } = await enter(ctx(), a.code, openid);
    expect((await share(token)).counted).to.equal(true);
    expect((await share(token)).counted).to.equal(false);
    expect(await sharesNow(token)).to.equal(1);

    ctx().clock.set(new Date(start + HOUR + 30 * MINUTE)); // between the sessions
    ({ token } = await enter(ctx(), a.code, openid));
    const between = await share(token);
    expect(between.counted).to.equal(false);
    expect(between.user).to.include({ sessionShares: 0, playsLeft: 0 });

    ctx().clock.set(new Date(start + 2 * HOUR)); // the second session: a fresh share allowance
    ({ token } = await enter(ctx(), a.code, openid));
    expect(await sharesNow(token)).to.equal(0);
    const second = await share(token);
    expect(second.counted).to.equal(true);
    expect(second.user).to.include({ sessionShares: 1, playsLeft: 2 });
    expect((await share(token)).counted).to.equal(false);

    ctx().clock.set(new Date(start + 4 * HOUR)); // after the last session
    ({ token } = await enter(ctx(), a.code, openid));
    const after = await share(token);
    expect(after.counted).to.equal(false);
    expect(after.user).to.include({ sessionShares: 0, playsLeft: 0 });
    const rows = (await ctx().t.app.db.knex('lottery_session_counters').where({ aid: a.activityId, openid }).orderBy('session')) as Array<Record<string, unknown>>;
    expect(rows.map((r) => [Number(r.session), Number(r.shares)])).to.deep.equal([[0, 1], [1, 1]]);
  });

  it('a share on a disabled activity is not counted, and counts once it is enabled', async () => {
    const a = await save(ctx(), { enabled: false, maxEplay: 1, maxShare: 1, share: SHARE_ON });
    const { token } = await enter(ctx(), a.code);
    const off = await share(token);
    expect(off.counted).to.equal(false);
    expect(await sharesNow(token)).to.equal(0);
    await ctx().t.clients.lottery.saveActivity({ activity: { ...a, enabled: true } });
    const on = await share(token);
    expect(on.counted).to.equal(true);
    expect(on.user?.sessionShares).to.equal(1);
  });
});
