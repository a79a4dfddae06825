import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { GrpcStatus, HuodongError, lottery as pb } from '@huodong/clients';
import { startTestApp } from '../../support/app.js';
import { FakeClock } from '../../support/clock.js';
import { redisControl, type RedisControl } from '../../support/redis.js';
import { describeLottery, draw, enter, newOpenid, prize, save, START, type LotteryCtx } from './support.js';

const RETRYABLE = new Set<number>([GrpcStatus.UNAVAILABLE, GrpcStatus.ABORTED, GrpcStatus.DEADLINE_EXCEEDED]);

/**
 * Draws as a careful client would on a loaded machine: a generous deadline, and retries of
 * retryable failures with the same request_id, which the server answers idempotently.
 */
async function drawRetrying(ctx: LotteryCtx, token: string): Promise<pb.DrawResponse> {
  const requestId = randomUUID();
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await ctx.t.clients.lottery.draw({ token, requestId }, { deadlineMs: 60_000 });
    } catch (err) {
      if (attempt >= 5 || !(err instanceof HuodongError) || !RETRYABLE.has(err.code)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}

const O = pb.Outcome;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function inBatches<T>(n: number, batch: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let start = 0; start < n; start += batch) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(batch, n - start) }, (_, k) => fn(start + k)))));
  }
  return out;
}

async function enterMany(ctx: LotteryCtx, code: string, n: number): Promise<string[]> {
  return inBatches(n, 250, async () => (await enter(ctx, code)).token);
}

async function prizeRows(ctx: LotteryCtx, aid: number): Promise<Array<{ openid: string; money: string; secret: string }>> {
  return ctx.t.app.db.knex('ims_scratch_person_prize').where({ aid }).select('openid', 'money', 'secret');
}

const cents = (money: string): number => {
  const [w = '0', f = '0'] = money.split('.');
  return Number(w) * 100 + Number(f.padEnd(2, '0'));
};

describeLottery('LotteryService races', (ctx, store) => {
  it(`2,000 users draw at once on a prize with stock 20 and chance 50: exactly 20 winners${store === 'mysql+redlock' ? ', Redis flushed half-way' : ''} @stress`, async function () {
    this.timeout(300_000);
    const a = await save(ctx(), { prizes: [prize({ name: '限量', sum: 20, chance: '50' })] });
    const tokens = await enterMany(ctx(), a.code, 2000);
    const redis = store === 'mysql+redlock' ? new Redis(process.env.REDIS_URL ?? '') : undefined;
    let done = 0;
    let flushed = false;
    try {
      const results = await Promise.all(
        tokens.map(async (token) => {
          try {
            return (await drawRetrying(ctx(), token)).outcome;
          } finally {
            done += 1;
            if (redis !== undefined && done === 1000) {
              flushed = true;
              await redis.flushall();
            }
          }
        }),
      );
      const wins = results.filter((o) => o === O.OUTCOME_WIN).length;
      expect(wins).to.equal(20);
      expect(results.filter((o) => o === O.OUTCOME_STOCK_GONE).length).to.be.greaterThan(500);
      const rows = await prizeRows(ctx(), a.activityId);
      expect(rows).to.have.lengthOf(20);
      expect(new Set(rows.map((r) => r.openid)).size).to.equal(20);
      expect(new Set(rows.map((r) => r.secret)).size).to.equal(20);
      const stock = await ctx().t.clients.lottery.listActivityPrizes({ activityId: a.activityId });
      expect(stock.prizes[0]?.won).to.equal(20);
      if (redis !== undefined) expect(flushed).to.equal(true);
    } finally {
      redis?.disconnect();
    }
  });

  it('a random red packet of 100.00 (0.50..5.00) never pays out of bounds nor more than its money @stress', async function () {
    this.timeout(300_000);
    const a = await save(ctx(), {
      template: pb.Template.TEMPLATE_RED_PACKET,
      prizes: [prize({ type: pb.PrizeType.PRIZE_TYPE_RED, name: '随机红包', sum: 0, chance: '100', money: '100', min: '0.50', max: '5.00' })],
    });
    const tokens = await enterMany(ctx(), a.code, 400);
    const results = await Promise.all(tokens.map((t) => drawRetrying(ctx(), t)));
    const paid = results.filter((r) => r.outcome === O.OUTCOME_WIN).map((r) => cents(r.prize?.money ?? ''));
    expect(paid.length).to.be.greaterThan(19);
    for (const c of paid) expect(c).to.be.within(50, 500);
    const total = paid.reduce((x, y) => x + y, 0);
    expect(total).to.be.at.most(100_00);
    // What is left is less than one minimum packet: the budget was used, not stranded.
    expect(total).to.be.greaterThan(100_00 - 50);
    const rows = await prizeRows(ctx(), a.activityId);
    expect(rows.reduce((x, r) => x + cents(r.money), 0)).to.equal(total);
    const stock = await ctx().t.clients.lottery.listActivityPrizes({ activityId: a.activityId });
    expect(cents(stock.prizes[0]?.paid ?? '')).to.equal(total);
    expect(results.filter((r) => r.outcome === O.OUTCOME_STOCK_GONE).length).to.equal(400 - paid.length);
  });

  it('40 concurrent draws with one request_id play once and all answer the first draw', async function () {
    const a = await save(ctx(), { maxEplay: 5, prizes: [prize({ sum: 100, chance: '50' })] });
    const { token } = await enter(ctx(), a.code);
    const answers = await Promise.all(
      Array.from({ length: 40 }, () =>
        draw(ctx(), token, 'one-key').then(
          (r) => ({ ...r, token: '', tokenExpireTime: undefined }),
          (err: unknown) => {
            // The per-user lock may turn part of the burst away (retryable); that is not a play.
            if (err instanceof HuodongError && err.reason === 'LOCK_BUSY') return undefined;
            throw err;
          },
        ),
      ),
    );
    const answered = answers.filter((x) => x !== undefined);
    expect(answered.length).to.be.greaterThan(0);
    for (const answer of answered) expect(answer).to.deep.equal(answered[0]);
    const info = await ctx().t.clients.lottery.getActivityInfo({ token });
    expect(info.user).to.include({ sessionPlays: 1, totalPlays: 1 });
  });

  it('one user drawing 60 times at once gets exactly max_eplay plays', async function () {
    const a = await save(ctx(), { maxEplay: 3, prizes: [prize({ chance: '0' })] });
    const { token } = await enter(ctx(), a.code);
    const outcomes = await Promise.all(
      Array.from({ length: 60 }, () =>
        draw(ctx(), token).then(
          (r) => r.outcome,
          (err: unknown) => {
            // The per-user lock may turn a burst away (ABORTED, retryable); that is not a play.
            if (err instanceof HuodongError && err.reason === 'LOCK_BUSY') return 'busy';
            throw err;
          },
        ),
      ),
    );
    expect(outcomes.filter((o) => o === O.OUTCOME_NO_AWARD)).to.have.lengthOf(3);
    const info = await ctx().t.clients.lottery.getActivityInfo({ token });
    expect(info.user?.sessionPlays).to.equal(3);
  });

  it('one user drawing 60 times at once wins at most max_prize times', async function () {
    const a = await save(ctx(), { maxPrize: 2, prizes: [prize({ sum: 1000, chance: '100' })] });
    const openid = newOpenid();
    const { token } = await enter(ctx(), a.code, openid);
    const outcomes = await Promise.all(
      Array.from({ length: 60 }, () => draw(ctx(), token).then((r) => r.outcome, () => 'busy' as const)),
    );
    expect(outcomes.filter((o) => o === O.OUTCOME_WIN)).to.have.lengthOf(2);
    expect((await prizeRows(ctx(), a.activityId)).filter((r) => r.openid === openid)).to.have.lengthOf(2);
  });

  it('300 enters at once, 100 users each entering three times: 100 participants, one row each', async () => {
    const a = await save(ctx(), { virtualParticipants: 7 });
    const openids = Array.from({ length: 100 }, () => newOpenid());
    await Promise.all(openids.flatMap((openid) => [0, 1, 2].map(() => enter(ctx(), a.code, openid))));
    const people = await ctx().t.app.db.knex('ims_scratch_person').where({ aid: a.activityId }).count({ n: '*' });
    expect(Number(people[0]?.n)).to.equal(100);
    const got = await ctx().t.clients.lottery.getActivity({ activityId: a.activityId });
    expect(got.state).to.include({ participants: 100, displayedParticipants: 107 });
  });
});

describe('LotteryService with Redis down [mysql]', function () {
  it('still draws, and the database alone keeps stock at 5 winners of 300', async function () {
    this.timeout(120_000);
    const clock = new FakeClock(START);
    const t = await startTestApp('mysql+redlock', { clock, env: { REDIS_URL: 'redis://127.0.0.1:9' } });
    try {
      const ctx: LotteryCtx = { t, clock };
      const a = await save(ctx, { prizes: [prize({ sum: 5, chance: '100' })] });
      const tokens = await enterMany(ctx, a.code, 300);
      const results = await Promise.all(tokens.map((token) => drawRetrying(ctx, token)));
      expect(results.filter((r) => r.outcome === O.OUTCOME_WIN)).to.have.lengthOf(5);
      expect(await prizeRows(ctx, a.activityId)).to.have.lengthOf(5);

      // No lock at all: one user's 40 simultaneous draws still get exactly max_eplay plays and one win.
      const b = await save(ctx, { maxEplay: 3, maxPrize: 1, prizes: [prize({ sum: 100, chance: '50' })] });
      const { token } = await enter(ctx, b.code);
      const burst = await Promise.all(Array.from({ length: 40 }, () => drawRetrying(ctx, token)));
      const played = burst.filter((r) => r.outcome === O.OUTCOME_WIN || r.outcome === O.OUTCOME_NO_AWARD).length;
      expect(burst.filter((r) => r.outcome === O.OUTCOME_WIN).length).to.be.at.most(1);
      const info = await t.clients.lottery.getActivityInfo({ token });
      expect(info.user?.sessionPlays).to.equal(played);
      expect(played).to.be.within(1, 3);
      if (info.user?.sessionWins === 0) expect(played).to.equal(3);
    } finally {
      await t.stop();
    }
  });
});

describe('LotteryService with Redis stopped and restarted mid-draw [mysql+redlock]', function () {
  this.timeout(180_000);
  let redis: RedisControl;
  before(() => {
    redis = redisControl();
  });
  after(async () => redis.restoreIfStopped());

  it('draws on through the outage, and stock, prize rows and plays stay exact', async () => {
    const clock = new FakeClock(START);
    const t = await startTestApp('mysql+redlock', { clock });
    try {
      const ctx: LotteryCtx = { t, clock };
      const a = await save(ctx, { maxEplay: 1, prizes: [prize({ sum: 10, chance: '50' })] });
      const tokens = await enterMany(ctx, a.code, 600);
      const phase = { now: 'before' as 'before' | 'down' | 'after' };
      const outcomes: Array<{ phase: string; outcome: pb.Outcome | 'unavailable' }> = [];
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < tokens.length) {
          const token = tokens[next++] as string;
          const drawnIn = phase.now;
          try {
            outcomes.push({ phase: drawnIn, outcome: (await draw(ctx, token)).outcome });
          } catch (err) {
            if (!(err instanceof HuodongError) || err.code !== GrpcStatus.UNAVAILABLE) throw err;
            outcomes.push({ phase: drawnIn, outcome: 'unavailable' });
          }
        }
      };
      const workers = Promise.all(Array.from({ length: 16 }, worker));
      while (outcomes.length < 150) await sleep(10);
      await redis.stop();
      phase.now = 'down';
      const stoppedAt = outcomes.length;
      while (outcomes.length < stoppedAt + 150) await sleep(10);
      await redis.start();
      phase.now = 'after';
      await workers;

      // Without the lock the draws go on: the database alone decides.
      expect(outcomes.filter((o) => o.phase === 'down' && o.outcome !== 'unavailable').length, 'drawn while Redis was down').to.be.greaterThan(100);
      expect(outcomes.filter((o) => o.phase === 'after' && o.outcome !== 'unavailable').length, 'drawn after the restart').to.be.greaterThan(100);
      const wins = outcomes.filter((o) => o.outcome === O.OUTCOME_WIN).length;
      expect(wins).to.equal(10);
      expect(await prizeRows(ctx, a.activityId)).to.have.lengthOf(10);
      const knex = t.app.db.knex;
      expect(await knex('lottery_prize_stock').where({ aid: a.activityId }).select('won')).to.deep.equal([{ won: 10 }]);
      const plays = (await knex('lottery_session_counters').where({ aid: a.activityId }).max({ most: 'plays' }).sum({ all: 'plays' }).first()) as { most: number; all: number | string };
      expect(Number(plays.most)).to.equal(1);
      const drawn = outcomes.filter((o) => o.outcome === O.OUTCOME_WIN || o.outcome === O.OUTCOME_NO_AWARD || o.outcome === O.OUTCOME_STOCK_GONE).length;
      expect(Number(plays.all)).to.equal(drawn);
    } finally {
      await t.stop();
    }
  });
});
