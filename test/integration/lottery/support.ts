/** Shared setup for the lottery suites: an app per store on a FakeClock, and activity fixtures. */
import { randomUUID } from 'node:crypto';
import { lottery as pb } from '@huodong/clients';
import { STORE_KINDS, startTestApp, type StoreKind, type TestApp } from '../../support/app.js';
import { FakeClock } from '../../support/clock.js';

export const START = '2026-03-01T04:00:00Z'; // 12:00 in Asia/Shanghai
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

export interface LotteryCtx {
  readonly t: TestApp;
  readonly clock: FakeClock;
}

/** Like describeEachStore, with a FakeClock the suite moves; the clock is reset before each test. */
export function describeLottery(title: string, suite: (ctx: () => LotteryCtx, store: StoreKind) => void): void {
  for (const store of STORE_KINDS) {
    describe(`${title} [${store}]`, function () {
      let current: LotteryCtx | undefined;
      const clock = new FakeClock(START);
      before(async function () {
        current = { t: await startTestApp(store, { clock }), clock };
      });
      beforeEach(() => clock.set(START));
      after(async function () {
        await current?.t.stop();
      });
      suite(() => {
        if (current === undefined) throw new Error('test app not started');
        return current;
      }, store);
    });
  }
}

export function session(fromMs: number, toMs: number): pb.Session {
  return { startTime: new Date(fromMs), endTime: new Date(toMs) };
}

const now = (): number => new Date(START).getTime();

export function prize(p: Partial<pb.Prize>): pb.Prize {
  return {
    prizeId: 0,
    type: pb.PrizeType.PRIZE_TYPE_PHYSICAL,
    name: '自行车',
    sum: 10,
    chance: '10',
    money: '',
    min: '',
    max: '',
    img: '',
    link: '',
    desc: '',
    info: '',
    ...p,
  };
}

/** An enabled scratch card running from an hour before START to a day after. */
export function activity(overrides: Partial<pb.Activity> = {}): Partial<pb.Activity> {
  return {
    enabled: true,
    title: '刮刮卡',
    activeType: pb.ActiveType.ACTIVE_TYPE_NORMAL,
    template: pb.Template.TEMPLATE_SCRATCH_CARD,
    prizes: [prize({})],
    sessions: [session(now() - HOUR, now() + 24 * HOUR)],
    maxPlay: 0,
    maxEplay: 0,
    maxShare: 0,
    maxPrize: 1,
    ...overrides,
  };
}

export async function save(ctx: LotteryCtx, overrides: Partial<pb.Activity> = {}): Promise<pb.Activity> {
  const res = await ctx.t.clients.lottery.saveActivity({ activity: activity(overrides) });
  if (res.activity === undefined) throw new Error('no activity returned');
  return res.activity;
}

let users = 0;
export const newOpenid = (): string => `o_${++users}_${randomUUID().slice(0, 8)}`;

export async function enter(ctx: LotteryCtx, code: string, openid = newOpenid()): Promise<{ token: string; openid: string }> {
  const res = await ctx.t.clients.lottery.enterActivity({ code, openid, nickname: `昵称${openid}`, avatar: 'http://img/a.png' });
  return { token: res.token, openid };
}

export async function draw(ctx: LotteryCtx, token: string, requestId: string = randomUUID()): Promise<pb.DrawResponse> {
  return ctx.t.clients.lottery.draw({ token, requestId });
}
