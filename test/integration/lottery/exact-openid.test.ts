/**
 * Issue 14.1: the lottery's own tables (lottery_user_counters, lottery_session_counters,
 * lottery_draw_log) compare openids exactly on MariaDB too. Many shops' ims_scratch_person has
 * no unique (aid, openid) key, so huodong lets "VICTIM" and "victim" in as two people (the
 * legacy tables are never altered; store.ts compares them with BINARY); under the database's
 * default collation they then shared one play allowance and replayed each other's draws,
 * prize secret included. "victim " (refused by EnterActivity, but a PAD SPACE collation such as
 * utf8mb4_bin would still take it for "victim") gets a token made with the server's key here.
 */
import { expect } from 'chai';
import { pino } from 'pino';
import { GrpcStatus, lottery as pb } from '@huodong/clients';
import { UserTokens } from '../../../src/lottery/tokens.js';
import { expectError } from '../../support/errors.js';
import { describeLottery, prize, save, type LotteryCtx } from './support.js';

const O = pb.Outcome;

let n = 0;
/** Three openids a case-insensitive, PAD SPACE collation takes for one. */
function spellings(): string[] {
  const base = `victim-${process.pid}-${++n}`;
  return [base.toUpperCase(), base, `${base} `];
}

describeLottery('lottery openids differing only in case or trailing spaces', (ctx, store) => {
  before(async () => {
    // A legacy person table as many shops have it: no unique (aid, openid) key.
    if (store === 'mysql+redlock') await ctx().t.app.db.knex.raw('ALTER TABLE ims_scratch_person DROP INDEX uk_ims_scratch_person_aid_openid');
  });

  /** A token for each spelling: EnterActivity for the first two, the server's key for the third. */
  async function players(c: LotteryCtx, code: string, aid: number): Promise<Array<{ openid: string; token: string }>> {
    const [upper = '', lower = '', spaced = ''] = spellings();
    const out: Array<{ openid: string; token: string }> = [];
    for (const openid of [upper, lower]) {
      out.push({ openid, token: (await c.t.clients.lottery.enterActivity({ code, openid, nickname: openid, avatar: '' })).token });
    }
    await expectError(c.t.clients.lottery.enterActivity({ code, openid: spaced, nickname: '', avatar: '' }), GrpcStatus.INVALID_ARGUMENT, 'INVALID_ARGUMENT');
    // A participant the legacy game let in with the trailing space.
    const [pid] = await c.t.app.db.knex('ims_scratch_person').insert({ aid, openid: spaced, nickname: 'spaced', headimgurl: '', other_info: '', create_time: 1, update_time: 1 });
    const tokens = new UserTokens({ secret: c.t.app.config.jwtSecret, clock: c.clock, logger: pino({ level: 'silent' }) });
    // No owner in it: its draws are the calling app's, as the other two's are (their entering app).
    out.push({ openid: spaced, token: tokens.issue({ aid, pid: Number(pid), openid: spaced, owner: undefined }).token });
    return out;
  }

  it('never share play counters', async () => {
    const a = await save(ctx(), { maxEplay: 1, maxPrize: 1, prizes: [prize({ sum: 10, chance: '100' })] });
    const people = await players(ctx(), a.code, a.activityId);
    for (const [i, p] of people.entries()) {
      const d = await ctx().t.clients.lottery.draw({ token: p.token, requestId: `counted-${i}` });
      expect(d.outcome, JSON.stringify(p.openid)).to.equal(O.OUTCOME_WIN);
    }
    for (const [i, p] of people.entries()) {
      expect((await ctx().t.clients.lottery.draw({ token: p.token, requestId: `again-${i}` })).outcome).to.equal(O.OUTCOME_HAVE_AWARD);
      const info = await ctx().t.clients.lottery.getActivityInfo({ token: p.token });
      expect(info.user, JSON.stringify(p.openid)).to.include({ openid: p.openid, sessionPlays: 1, totalPlays: 1, sessionWins: 1 });
    }
    const rows = (await ctx().t.app.db.knex('lottery_user_counters').where({ aid: a.activityId }).select('openid', 'plays')) as Array<{ openid: string; plays: number }>;
    expect(rows.map((r) => [r.openid, Number(r.plays)]).sort()).to.deep.equal(people.map((p) => [p.openid, 1]).sort());
  });

  it("never replay each other's stored draws with the same request id", async () => {
    const a = await save(ctx(), { maxEplay: 1, maxPrize: 1, prizes: [prize({ sum: 10, chance: '100' })] });
    const people = await players(ctx(), a.code, a.activityId);
    const draws: pb.DrawResponse[] = [];
    for (const p of people) draws.push(await ctx().t.clients.lottery.draw({ token: p.token, requestId: 'same-request' }));
    for (const d of draws) expect(d.outcome).to.equal(O.OUTCOME_WIN);
    expect(new Set(draws.map((d) => d.drawId)).size).to.equal(3);
    expect(new Set(draws.map((d) => d.prize?.secret)).size).to.equal(3);
    for (const [i, p] of people.entries()) {
      const mine = await ctx().t.clients.lottery.listMyPrizes({ token: p.token });
      expect(mine.prizes.map((x) => x.secret), JSON.stringify(p.openid)).to.deep.equal([draws[i]?.prize?.secret]);
      // A retry answers the person's own draw.
      expect(await ctx().t.clients.lottery.draw({ token: p.token, requestId: 'same-request' })).to.deep.include({ drawId: draws[i]?.drawId });
    }
  });
});
