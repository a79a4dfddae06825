import { expect } from 'chai';
import { GrpcStatus, lottery as pb } from '@huodong/clients';
import { expectError } from '../../support/errors.js';
import { activity, describeLottery, draw, enter, HOUR, MINUTE, newOpenid, prize, save, session, START, type LotteryCtx } from './support.js';

const O = pb.Outcome;
const start = new Date(START).getTime();

async function legacyRow(ctx: LotteryCtx, id: number): Promise<Record<string, unknown>> {
  return ctx.t.app.db.knex('ims_scratch_activity').where({ id }).first() as Promise<Record<string, unknown>>;
}

describeLottery('LotteryService admin', (ctx) => {
  it('creates an activity, writes the legacy encodings and reads it back with its state', async () => {
    const a = await save(ctx(), {
      prizes: [
        prize({ name: '折叠式自行车', sum: 5, chance: '10.5' }),
        prize({ type: pb.PrizeType.PRIZE_TYPE_RED, name: '随机红包', sum: 0, chance: '20', money: '100', min: '0.5', max: '5' }),
      ],
      virtualParticipants: 100,
    });
    expect(a.activityId).to.be.greaterThan(0);
    expect(a.code).to.match(/^[\w-]{16}$/);
    expect(a.code).to.not.equal(String(a.activityId));
    const row = await legacyRow(ctx(), a.activityId);
    expect(row.prize).to.contain('"sum":"5"').and.contain('"chance":"10.5"').and.contain('\\u6298\\u53e0');
    expect(row.prize).to.contain('"money":"100.00"').and.contain('"min":"0.50"');
    expect(row.active_time).to.equal('[{"start":"2026-03-01 11:00","end":"2026-03-02 12:00"}]');
    expect(JSON.parse(String(row.tips))).to.have.property('no_award', '居然没有中奖？不如休息一下赞个手气！');

    const got = await ctx().t.clients.lottery.getActivity({ code: a.code });
    expect(got.activity?.prizes[0]).to.include({ name: '折叠式自行车', sum: 5, chance: '10.5', prizeId: 0 });
    expect(got.activity?.prizes[1]).to.include({ money: '100.00', min: '0.50', max: '5.00', type: pb.PrizeType.PRIZE_TYPE_RED });
    expect(got.state).to.include({ phase: pb.Phase.PHASE_ONGOING, legacyStatus: 0, sessionIndex: 0, participants: 0, displayedParticipants: 100 });
    await enter(ctx(), a.code);
    expect((await ctx().t.clients.lottery.getActivity({ activityId: a.activityId })).state?.displayedParticipants).to.equal(101);
  });

  it('answers -1 with the next session before it starts and 1 after the last', async () => {
    const a = await save(ctx(), { sessions: [session(start + HOUR, start + 2 * HOUR), session(start + 3 * HOUR, start + 4 * HOUR)] });
    let s = (await ctx().t.clients.lottery.getActivity({ activityId: a.activityId })).state;
    expect(s).to.include({ legacyStatus: -1, sessionIndex: 0, phase: pb.Phase.PHASE_NOT_STARTED });
    ctx().clock.set(new Date(start + 2 * HOUR + 30 * MINUTE));
    s = (await ctx().t.clients.lottery.getActivity({ activityId: a.activityId })).state;
    expect(s).to.include({ legacyStatus: -1, sessionIndex: 1 });
    ctx().clock.set(new Date(start + 5 * HOUR));
    s = (await ctx().t.clients.lottery.getActivity({ activityId: a.activityId })).state;
    expect(s).to.include({ legacyStatus: 1, sessionIndex: -1, phase: pb.Phase.PHASE_ENDED });
  });

  it('refuses bad prize tables and sessions, naming the field and writing nothing', async () => {
    const { lottery } = ctx().t.clients;
    const count = async (): Promise<number> => Number(((await ctx().t.app.db.knex('ims_scratch_activity').count({ n: '*' })) as Array<{ n: number }>)[0]?.n);
    const before = await count();
    const cases: Array<[Partial<pb.Activity>, string]> = [
      [{ prizes: [prize({ chance: '60' }), prize({ chance: '40.1' })] }, 'activity.prizes'],
      [{ prizes: [prize({ chance: '10.55' })] }, 'activity.prizes[0].chance'],
      [{ prizes: [prize({ chance: '-1' })] }, 'activity.prizes[0].chance'],
      [{ prizes: [prize({ chance: '100.1' })] }, 'activity.prizes[0].chance'],
      [{ prizes: [prize({ type: pb.PrizeType.PRIZE_TYPE_RED, sum: 0, money: '10', min: '2', max: '1' })] }, 'activity.prizes[0].max'],
      [{ prizes: [prize({ type: pb.PrizeType.PRIZE_TYPE_RED, sum: 0, money: '1000', min: '1', max: '200.01' })] }, 'activity.prizes[0].max'],
      [{ prizes: [prize({ type: pb.PrizeType.PRIZE_TYPE_RED, sum: 0, money: '10', min: '0', max: '1' })] }, 'activity.prizes[0].min'],
      [{ prizes: [prize({ type: pb.PrizeType.PRIZE_TYPE_RED, sum: 3, money: '0' })] }, 'activity.prizes[0].money'],
      [{ prizes: [prize({ money: '1.234' })] }, 'activity.prizes[0].money'],
      [{ prizes: [prize({ type: pb.PrizeType.PRIZE_TYPE_UNSPECIFIED })] }, 'activity.prizes[0].type'],
      [{ prizes: [prize({ name: '' })] }, 'activity.prizes[0].name'],
      [{ sessions: [] }, 'activity.sessions'],
      [{ sessions: [session(start, start - MINUTE)] }, 'activity.sessions[0]'],
      [{ sessions: [session(start, start + HOUR), session(start + 30 * MINUTE, start + 2 * HOUR)] }, 'activity.sessions[1]'],
      [{ sessions: [session(start + 1000, start + HOUR)] }, 'activity.sessions[0]'],
      [{ title: '' }, 'activity.title'],
      [{ template: pb.Template.TEMPLATE_UNSPECIFIED }, 'activity.template'],
      [{ config: 'not json' }, 'activity.config'],
    ];
    for (const [overrides, field] of cases) {
      const e = await expectError(lottery.saveActivity({ activity: activity(overrides) }), GrpcStatus.INVALID_ARGUMENT);
      expect(e.field, JSON.stringify(overrides)).to.equal(field);
    }
    expect(await count()).to.equal(before);
  });

  it('once started, lets prizes only be appended or have chance / count raised', async () => {
    const { lottery } = ctx().t.clients;
    const first = [prize({ name: 'A', sum: 5, chance: '10' }), prize({ name: 'B', sum: 5, chance: '10' })];
    const a = await save(ctx(), { sessions: [session(start + HOUR, start + 2 * HOUR)], prizes: first });
    // Not started yet: anything goes.
    await lottery.saveActivity({ activity: { ...a, prizes: [prize({ name: 'B', sum: 1, chance: '5' })] } });
    await lottery.saveActivity({ activity: { ...a, prizes: first } });
    ctx().clock.set(new Date(start + HOUR));
    for (const [prizes, field] of [
      [[first[0]], 'activity.prizes'],
      [[first[1], first[0]], 'activity.prizes[0]'],
      [[first[0], { ...first[1], sum: 4 }], 'activity.prizes[1].sum'],
      [[first[0], { ...first[1], chance: '9.9' }], 'activity.prizes[1].chance'],
    ] as Array<[pb.Prize[], string]>) {
      const e = await expectError(lottery.saveActivity({ activity: { ...a, prizes } }), GrpcStatus.FAILED_PRECONDITION, 'PRIZES_LOCKED');
      expect(e.metadata.field).to.equal(field);
    }
    const raised = [first[0] as pb.Prize, { ...(first[1] as pb.Prize), sum: 9, chance: '20' }, prize({ name: 'C', sum: 1, chance: '1' })];
    const saved = await lottery.saveActivity({ activity: { ...a, prizes: raised } });
    expect(saved.activity?.prizes.map((p) => [p.name, p.sum, p.chance])).to.deep.equal([['A', 5, '10'], ['B', 9, '20'], ['C', 1, '1']]);
  });

  it('needs lottery.admin for admin RPCs', async () => {
    const { clients } = await ctx().t.clientsWithScopes(['lottery']);
    const e = await expectError(clients.lottery.saveActivity({ activity: {} }), GrpcStatus.PERMISSION_DENIED);
    expect(e.reason).to.equal('SCOPE_MISSING');
  });

  it('NOT_FOUND for unknown ids and codes', async () => {
    await expectError(ctx().t.clients.lottery.getActivity({ activityId: 999_999 }), GrpcStatus.NOT_FOUND, 'ACTIVITY_NOT_FOUND');
    await expectError(ctx().t.clients.lottery.getActivity({ code: 'nope' }), GrpcStatus.NOT_FOUND, 'ACTIVITY_NOT_FOUND');
    await expectError(ctx().t.clients.lottery.enterActivity({ code: 'nope', openid: 'x' }), GrpcStatus.NOT_FOUND);
  });
});

describeLottery('LotteryService users', (ctx) => {
  it('enters with an opaque code and renews the token on every call', async () => {
    const a = await save(ctx());
    const { lottery } = ctx().t.clients;
    const e = await lottery.enterActivity({ code: a.code, openid: newOpenid() });
    expect(e.user?.playsLeft).to.equal(-1);
    // Users know the activity by its code only: its row id stays out of their answers.
    expect(e.activity).to.include({ code: a.code, activityId: 0, title: a.title });
    ctx().clock.advance(20 * MINUTE);
    const i = await lottery.getActivityInfo({ token: e.token });
    expect(i.activity).to.include({ code: a.code, activityId: 0 });
    expect(i.token).to.not.equal(e.token);
    expect(i.tokenExpireTime?.getTime()).to.equal(start + 50 * MINUTE);
    ctx().clock.advance(20 * MINUTE);
    // The first token is now 40 minutes old and dead; the renewed one still works.
    await expectError(lottery.getActivityInfo({ token: e.token }), GrpcStatus.UNAUTHENTICATED);
    await lottery.getActivityInfo({ token: i.token });
  });

  it('refuses tampered, expired, foreign-activity and alg-none tokens', async () => {
    const a = await save(ctx());
    const b = await save(ctx());
    const { token } = await enter(ctx(), a.code);
    const { lottery } = ctx().t.clients;
    const [h, p, s] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const forgedPayload = Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString('base64url');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${p}.`;
    // A changed first character always changes the signature (a fixed suffix can equal the real one).
    const tampered = `${h}.${p}.${s.startsWith('A') ? 'B' : 'A'}${s.slice(1)}`;
    for (const bad of [`${h}.${forgedPayload}.${s}`, tampered, none, 'garbage', '']) {
      await expectError(draw(ctx(), bad), GrpcStatus.UNAUTHENTICATED, 'USER_TOKEN_INVALID');
    }
    await expectError(lottery.draw({ token, requestId: 'r1', code: b.code }), GrpcStatus.UNAUTHENTICATED, 'USER_TOKEN_INVALID');
    ctx().clock.advance(31 * MINUTE);
    await expectError(draw(ctx(), token), GrpcStatus.UNAUTHENTICATED, 'USER_TOKEN_INVALID');
  });

  it('NOT_FOUND for a valid token whose activity row was deleted, logging no draw', async () => {
    const a = await save(ctx(), { prizes: [prize({ sum: 5, chance: '100' })] });
    const { token } = await enter(ctx(), a.code);
    expect((await draw(ctx(), token)).outcome).to.equal(O.OUTCOME_WIN);
    const { knex } = ctx().t.app.db;
    const logged = async (): Promise<number> => Number(((await knex('lottery_draw_log').where({ aid: a.activityId }).count({ n: '*' })) as Array<{ n: number }>)[0]?.n);
    expect(await logged()).to.equal(1);
    expect(await knex('ims_scratch_activity').where({ id: a.activityId }).del()).to.equal(1);
    ctx().clock.advance(1_100); // the activity cache lives a second, on the service's clock
    const { lottery } = ctx().t.clients;
    await expectError(draw(ctx(), token), GrpcStatus.NOT_FOUND, 'ACTIVITY_NOT_FOUND');
    await expectError(lottery.draw({ token, requestId: 'gone-1', code: a.code }), GrpcStatus.NOT_FOUND, 'ACTIVITY_NOT_FOUND');
    await expectError(lottery.getActivityInfo({ token }), GrpcStatus.NOT_FOUND, 'ACTIVITY_NOT_FOUND');
    await expectError(lottery.share({ token }), GrpcStatus.NOT_FOUND, 'ACTIVITY_NOT_FOUND');
    await expectError(lottery.getActivity({ code: a.code }), GrpcStatus.NOT_FOUND, 'ACTIVITY_NOT_FOUND');
    expect(await logged()).to.equal(1);
  });

  it('lets only whitelisted users into a reward activity', async () => {
    const a = await save(ctx(), { activeType: pb.ActiveType.ACTIVE_TYPE_REWARD });
    const openid = newOpenid();
    await expectError(enter(ctx(), a.code, openid), GrpcStatus.PERMISSION_DENIED, 'NOT_WHITELISTED');
    const added = await ctx().t.clients.lottery.addWhitelist({ activityId: a.activityId, openids: [openid, openid, 'other'] });
    expect(added.added).to.equal(2);
    expect((await ctx().t.clients.lottery.addWhitelist({ activityId: a.activityId, openids: [openid] })).added).to.equal(0);
    await enter(ctx(), a.code, openid);
    const e = await expectError(ctx().t.clients.lottery.addWhitelist({ activityId: a.activityId, openids: [''] }), GrpcStatus.INVALID_ARGUMENT);
    expect(e.field).to.equal('openids[0]');
  });

  it('wins, lists the prize, and the merchant verifies a physical prize once', async () => {
    const a = await save(ctx(), { prizes: [prize({ name: '自行车', sum: 3, chance: '100', info: '到店领取' })] });
    const { token } = await enter(ctx(), a.code);
    const d = await draw(ctx(), token);
    expect(d.outcome).to.equal(O.OUTCOME_WIN);
    expect(d.code).to.equal(200);
    expect(d.prize).to.include({ prizeId: 0, name: '自行车', legacyType: 2, money: '0.00', claimed: false, info: '到店领取' });
    expect(d.prize?.secret).to.match(/^\d{16}$/);
    const mine = await ctx().t.clients.lottery.listMyPrizes({ token: d.token });
    expect(mine.prizes.map((p) => p.secret)).to.deep.equal([d.prize?.secret]);

    const { lottery } = ctx().t.clients;
    const v = await lottery.verifyAward({ code: a.code, secret: d.prize?.secret ?? '' });
    expect(v.prize).to.include({ claimed: true, name: '自行车' });
    await expectError(lottery.verifyAward({ code: a.code, secret: d.prize?.secret ?? '' }), GrpcStatus.FAILED_PRECONDITION, 'AWARD_ALREADY_CLAIMED');
    await expectError(lottery.verifyAward({ code: a.code, secret: '1234567890123456' }), GrpcStatus.NOT_FOUND, 'AWARD_NOT_FOUND');
    const other = await save(ctx());
    await expectError(lottery.verifyAward({ code: other.code, secret: d.prize?.secret ?? '' }), GrpcStatus.NOT_FOUND, 'AWARD_NOT_FOUND');
  });

  it('pays a fixed red packet, which counts as claimed (virtual)', async () => {
    const a = await save(ctx(), { prizes: [prize({ type: pb.PrizeType.PRIZE_TYPE_RED, name: '红包', sum: 2, chance: '100', money: '8.88' })] });
    const d = await draw(ctx(), (await enter(ctx(), a.code)).token);
    expect(d.prize).to.include({ money: '8.88', legacyType: 1, claimed: true });
    await expectError(ctx().t.clients.lottery.verifyAward({ code: a.code, secret: d.prize?.secret ?? '' }), GrpcStatus.FAILED_PRECONDITION, 'AWARD_ALREADY_CLAIMED');
  });

  it('lists the latest 10 winners with masked names, newest first', async () => {
    const a = await save(ctx(), { prizes: [prize({ sum: 100, chance: '100' })] });
    for (let i = 0; i < 12; i += 1) {
      const openid = `winner-${i}-${newOpenid()}`;
      const e = await ctx().t.clients.lottery.enterActivity({ code: a.code, openid, nickname: `张三丰${i}`, avatar: `http://a/${i}` });
      ctx().clock.advance(1000);
      expect((await draw(ctx(), e.token)).outcome).to.equal(O.OUTCOME_WIN);
    }
    const w = await ctx().t.clients.lottery.listWinners({ code: a.code });
    expect(w.winners).to.have.lengthOf(10);
    expect(w.winners[0]).to.include({ nickname: '张**1', avatar: 'http://a/11', prizeName: '自行车' });
    expect(w.winners.every((x) => !x.nickname.includes('三丰'))).to.equal(true);
  });

  it('a replayed request_id returns the first answer and plays once', async () => {
    const a = await save(ctx(), { maxEplay: 5, prizes: [prize({ sum: 100, chance: '50' })] });
    const { token } = await enter(ctx(), a.code);
    const first = await draw(ctx(), token, 'same-key');
    const again = await draw(ctx(), first.token, 'same-key');
    expect(again.drawId).to.equal(first.drawId);
    expect({ ...again, token: '', tokenExpireTime: undefined }).to.deep.equal({ ...first, token: '', tokenExpireTime: undefined });
    const info = await ctx().t.clients.lottery.getActivityInfo({ token });
    expect(info.user?.sessionPlays).to.equal(1);
    await expectError(draw(ctx(), token, ''), GrpcStatus.INVALID_ARGUMENT);
    await expectError(draw(ctx(), token, 'x'.repeat(65)), GrpcStatus.INVALID_ARGUMENT);
  });

  it('refuses bad input naming the field: missing, oversized, huge, unknown', async () => {
    const a = await save(ctx());
    const { lottery } = ctx().t.clients;
    const field = async (call: Promise<unknown>): Promise<string | undefined> => (await expectError(call, GrpcStatus.INVALID_ARGUMENT)).field;
    expect(await field(lottery.enterActivity({ code: a.code, openid: '' }))).to.equal('openid');
    expect(await field(lottery.enterActivity({ code: a.code, openid: 'x'.repeat(129) }))).to.equal('openid');
    expect(await field(lottery.enterActivity({ code: a.code, openid: 'ok', nickname: 'n'.repeat(65) }))).to.equal('nickname');
    expect(await field(lottery.enterActivity({ code: '', openid: 'ok' }))).to.equal('code');
    expect(await field(lottery.addWhitelist({ activityId: a.activityId, openids: Array.from({ length: 1001 }, (_, i) => `u${i}`) }))).to.equal('openids');
    expect(await field(lottery.addWhitelist({ activityId: 0, openids: ['u'] }))).to.equal('activity_id');
    await expectError(lottery.addWhitelist({ activityId: 987_654, openids: ['u'] }), GrpcStatus.NOT_FOUND);
    expect(await field(lottery.listActivityPrizes({ activityId: 0 }))).to.equal('activity_id');
    await expectError(lottery.listActivityPrizes({ activityId: 987_654 }), GrpcStatus.NOT_FOUND);
    expect(await field(lottery.verifyAward({ code: a.code, secret: 'abc' }))).to.equal('secret');
    expect(await field(lottery.saveActivity({ activity: activity({ maxPlay: 2_000_000 }) }))).to.equal('activity.max_play');
    expect(await field(lottery.saveActivity({ activity: activity({ prizes: [prize({ sum: 20_000_000 })] }) }))).to.equal('activity.prizes[0].sum');
    expect(await field(lottery.saveActivity({}))).to.equal('activity');
    await expectError(lottery.saveActivity({ activity: activity({ activityId: 987_654 }) }), GrpcStatus.NOT_FOUND);
  });

  it('submits user info: name and tel required, address when the activity needs it', async () => {
    const a = await save(ctx(), { needAddress: true });
    const { token } = await enter(ctx(), a.code);
    const { lottery } = ctx().t.clients;
    for (const [form, field] of [
      [{ tel: '13800000000', address: 'x' }, 'name'],
      [{ name: '张三', address: 'x' }, 'tel'],
      [{ name: '张三', tel: 'abc', address: 'x' }, 'tel'],
      [{ name: '张三', tel: '13800000000' }, 'address'],
      [{ name: 'x'.repeat(65), tel: '13800000000', address: 'x' }, 'name'],
    ] as const) {
      const e = await expectError(lottery.submitUserInfo({ token, ...form }), GrpcStatus.INVALID_ARGUMENT);
      expect(e.field).to.equal(field);
    }
    const r = await lottery.submitUserInfo({ token, name: '张三', tel: '13800000000', address: '杭州', otherInfo: '{"size":"L"}' });
    expect(r.token).to.be.a('string');
    expect((await lottery.getActivityInfo({ token })).user?.hasUserInfo).to.equal(true);
  });
});

describeLottery('LotteryService no-win conditions and limits', (ctx) => {
  it('closed, not started, between sessions, ended: normal answers with their tips', async () => {
    const tips = { haveAward: 'HA', noTimes: 'NT', noAward: 'NA', gameOver: 'GO', default: 'DF' };
    const closed = await save(ctx(), { enabled: false, tips });
    expect(await draw(ctx(), (await enter(ctx(), closed.code)).token)).to.include({ outcome: O.OUTCOME_CLOSED, tip: 'DF', code: 200 });

    const later = await save(ctx(), { tips, sessions: [session(start + HOUR, start + 2 * HOUR), session(start + 3 * HOUR, start + 4 * HOUR)] });
    const { token } = await enter(ctx(), later.code);
    expect(await draw(ctx(), token)).to.include({ outcome: O.OUTCOME_NOT_STARTED, tip: 'DF' });
    ctx().clock.set(new Date(start + 2 * HOUR + MINUTE));
    const between = await ctx().t.clients.lottery.draw({ token: (await enter(ctx(), later.code)).token, requestId: 'b' });
    expect(between).to.include({ outcome: O.OUTCOME_GAME_OVER, tip: 'GO' });
    ctx().clock.set(new Date(start + 3 * HOUR + 30 * MINUTE));
    expect((await draw(ctx(), (await enter(ctx(), later.code)).token)).outcome).to.not.be.oneOf([O.OUTCOME_GAME_OVER, O.OUTCOME_NOT_STARTED]);
    ctx().clock.set(new Date(start + 5 * HOUR));
    expect(await draw(ctx(), (await enter(ctx(), later.code)).token)).to.include({ outcome: O.OUTCOME_GAME_OVER, tip: 'GO' });
  });

  it('the end minute is part of the session', async () => {
    const a = await save(ctx(), { sessions: [session(start - HOUR, start)] });
    ctx().clock.set(new Date(start + 59_999));
    expect((await draw(ctx(), (await enter(ctx(), a.code)).token)).outcome).to.not.equal(O.OUTCOME_GAME_OVER);
    ctx().clock.set(new Date(start + 60_000));
    expect((await draw(ctx(), (await enter(ctx(), a.code)).token)).outcome).to.equal(O.OUTCOME_GAME_OVER);
  });

  it('a legacy table with chances over 100 lets nobody win', async () => {
    const a = await save(ctx());
    await ctx().t.app.db.knex('ims_scratch_activity').where({ id: a.activityId }).update({
      prize: '[{"type":"physical","name":"A","sum":"9","chance":"60"},{"type":"physical","name":"B","sum":"9","chance":"50"}]',
    });
    ctx().clock.advance(1_100); // the activity cache lives a second, on the service's clock
    const d = await draw(ctx(), (await enter(ctx(), a.code)).token);
    expect(d).to.include({ outcome: O.OUTCOME_CHANCES_OVER_100, tip: '谢谢！' });
  });

  it('answers code 201 until the user submits their info', async () => {
    const a = await save(ctx(), { requireUserInfo: true, prizes: [prize({ chance: '100' })] });
    const { token } = await enter(ctx(), a.code);
    const d = await draw(ctx(), token);
    expect(d).to.include({ code: 201, outcome: O.OUTCOME_NEED_USER_INFO });
    await ctx().t.clients.lottery.submitUserInfo({ token, name: '李四', tel: '13900000000' });
    expect(await draw(ctx(), token)).to.include({ code: 200, outcome: O.OUTCOME_WIN });
  });

  it('one win per session by default (have_award), again next session', async () => {
    const a = await save(ctx(), {
      maxPrize: 0,
      prizes: [prize({ sum: 100, chance: '100' })],
      sessions: [session(start - HOUR, start + HOUR), session(start + 2 * HOUR, start + 3 * HOUR)],
    });
    const openid = newOpenid();
    const { token } = await enter(ctx(), a.code, openid);
    expect((await draw(ctx(), token)).outcome).to.equal(O.OUTCOME_WIN);
    expect(await draw(ctx(), token)).to.include({ outcome: O.OUTCOME_HAVE_AWARD, tip: '今天已经获奖过咯~不要贪心哦！' });
    ctx().clock.set(new Date(start + 2 * HOUR));
    expect((await draw(ctx(), (await enter(ctx(), a.code, openid)).token)).outcome).to.equal(O.OUTCOME_WIN);
  });

  it('max_prize 2 allows two wins per session', async () => {
    const a = await save(ctx(), { maxPrize: 2, prizes: [prize({ sum: 100, chance: '100' })] });
    const { token } = await enter(ctx(), a.code);
    expect((await draw(ctx(), token)).outcome).to.equal(O.OUTCOME_WIN);
    expect((await draw(ctx(), token)).outcome).to.equal(O.OUTCOME_WIN);
    expect((await draw(ctx(), token)).outcome).to.equal(O.OUTCOME_HAVE_AWARD);
  });

  it('max_eplay per session plus shares up to max_share, then no_times', async () => {
    const a = await save(ctx(), { maxEplay: 2, maxShare: 1, share: { enabled: true, title: '', desc: '', link: '', img: '' }, prizes: [prize({ chance: '0' })] });
    const { token } = await enter(ctx(), a.code);
    expect((await draw(ctx(), token)).outcome).to.equal(O.OUTCOME_NO_AWARD);
    expect((await draw(ctx(), token)).outcome).to.equal(O.OUTCOME_NO_AWARD);
    expect(await draw(ctx(), token)).to.include({ outcome: O.OUTCOME_NO_TIMES, tip: '可次数已用完了！' });
    const s1 = await ctx().t.clients.lottery.share({ token });
    expect(s1.counted).to.equal(true);
    expect(s1.user?.playsLeft).to.equal(1);
    expect((await ctx().t.clients.lottery.share({ token })).counted).to.equal(false);
    expect((await draw(ctx(), token)).outcome).to.equal(O.OUTCOME_NO_AWARD);
    expect((await draw(ctx(), token)).outcome).to.equal(O.OUTCOME_NO_TIMES);
  });

  it('shares do not count when sharing is off', async () => {
    const a = await save(ctx(), { maxEplay: 1, maxShare: 3 });
    const { token } = await enter(ctx(), a.code);
    expect((await ctx().t.clients.lottery.share({ token })).counted).to.equal(false);
  });

  it('max_play caps plays over all sessions', async () => {
    const a = await save(ctx(), {
      maxPlay: 3,
      maxEplay: 2,
      prizes: [prize({ chance: '0' })],
      sessions: [session(start - HOUR, start + HOUR), session(start + 2 * HOUR, start + 3 * HOUR)],
    });
    const openid = newOpenid();
    let { token } = await enter(ctx(), a.code, openid);
    await draw(ctx(), token);
    await draw(ctx(), token);
    expect((await draw(ctx(), token)).outcome).to.equal(O.OUTCOME_NO_TIMES);
    ctx().clock.set(new Date(start + 2 * HOUR));
    ({ token } = await enter(ctx(), a.code, openid));
    expect((await draw(ctx(), token)).outcome).to.equal(O.OUTCOME_NO_AWARD);
    expect((await draw(ctx(), token)).outcome).to.equal(O.OUTCOME_NO_TIMES);
    const info = await ctx().t.clients.lottery.getActivityInfo({ token });
    expect(info.user).to.include({ totalPlays: 3, sessionPlays: 1, playsLeft: 0 });
  });

  it('a winning draw refused by max_play gives the session its play and its win back', async () => {
    const a = await save(ctx(), { maxPlay: 1, maxPrize: 5, prizes: [prize({ sum: 100, chance: '100' })] });
    const { token } = await enter(ctx(), a.code);
    expect((await draw(ctx(), token)).outcome).to.equal(O.OUTCOME_WIN);
    expect((await draw(ctx(), token)).outcome).to.equal(O.OUTCOME_NO_TIMES);
    const info = await ctx().t.clients.lottery.getActivityInfo({ token });
    expect(info.user).to.include({ totalPlays: 1, sessionPlays: 1, sessionWins: 1 });
    const stock = await ctx().t.clients.lottery.listActivityPrizes({ activityId: a.activityId });
    expect(stock.prizes[0]?.won).to.equal(1);
  });

  it('stock gone: the drawn prize without stock is a no-win with the no_award tip', async () => {
    const a = await save(ctx(), { prizes: [prize({ sum: 1, chance: '100' })] });
    expect((await draw(ctx(), (await enter(ctx(), a.code)).token)).outcome).to.equal(O.OUTCOME_WIN);
    for (let i = 0; i < 2; i += 1) {
      expect(await draw(ctx(), (await enter(ctx(), a.code)).token)).to.include({ outcome: O.OUTCOME_STOCK_GONE, tip: '居然没有中奖？不如休息一下赞个手气！' });
    }
    const list = await ctx().t.clients.lottery.listActivityPrizes({ activityId: a.activityId });
    expect(list.prizes[0]).to.include({ won: 1, poolKey: `${a.activityId}_prize_1000` });
    // Raising the count makes the prize winnable again.
    await ctx().t.clients.lottery.saveActivity({ activity: { ...a, prizes: [prize({ sum: 2, chance: '100' })] } });
    expect((await draw(ctx(), (await enter(ctx(), a.code)).token)).outcome).to.equal(O.OUTCOME_WIN);
  });

  it('logs every draw with its random slot and prize table version', async () => {
    const a = await save(ctx(), { prizes: [prize({ sum: 5, chance: '50' })] });
    const { token, openid } = await enter(ctx(), a.code);
    const d = await draw(ctx(), token, 'logged-1');
    const version = (await ctx().t.clients.lottery.listActivityPrizes({ activityId: a.activityId })).prizeVersion;
    const row = (await ctx().t.app.db.knex('lottery_draw_log').where({ id: d.drawId }).first()) as Record<string, unknown>;
    expect(row).to.include({ openid, request_id: 'logged-1', prize_version: version });
    expect(Number(row.slot)).to.be.within(0, 999);
    expect(row.outcome).to.equal(Number(row.slot) < 500 ? 'win' : 'no_award');
  });
});
