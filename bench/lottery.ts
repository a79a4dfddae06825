import { lottery as pb } from '@huodong/clients';
import type { BenchContext, Scenario } from './scenarios.js';

const USERS = 10_000;

function prize(name: string, chance: string, extra: Partial<pb.Prize> = {}): pb.Prize {
  return { prizeId: 0, type: pb.PrizeType.PRIZE_TYPE_PHYSICAL, name, sum: 1_000_000, chance, money: '', min: '', max: '', img: '', link: '', desc: '', info: '', ...extra };
}

export function lotteryScenarios(ctx: BenchContext): Scenario[] {
  const { lottery } = ctx.clients;
  return [
    {
      name: 'Lottery Draw (one hot activity, 10,000 users, 4 prizes)',
      async setup() {
        const now = Math.floor(Date.now() / 60_000) * 60_000;
        const saved = await lottery.saveActivity({
          activity: {
            enabled: true,
            title: 'bench wheel',
            activeType: pb.ActiveType.ACTIVE_TYPE_NORMAL,
            template: pb.Template.TEMPLATE_WHEEL,
            maxPrize: 1_000_000,
            prizes: [
              prize('bike', '0.5', { sum: 50 }),
              prize('coupon', '10', { type: pb.PrizeType.PRIZE_TYPE_COUPON }),
              prize('red', '20', { type: pb.PrizeType.PRIZE_TYPE_RED, sum: 0, money: '1000000', min: '0.50', max: '5.00' }),
              prize('mug', '5'),
            ],
            sessions: [{ startTime: new Date(now - 3_600_000), endTime: new Date(now + 86_400_000) }],
          } as pb.Activity,
        });
        const code = saved.activity?.code ?? '';
        const tokens: string[] = [];
        for (let start = 0; start < USERS; start += 500) {
          const batch = await Promise.all(
            Array.from({ length: 500 }, (_, k) => lottery.enterActivity({ code, openid: `bench-${start + k}`, nickname: `user ${start + k}` })),
          );
          tokens.push(...batch.map((r) => r.token));
        }
        return (i) => lottery.draw({ token: tokens[i % USERS] ?? '', requestId: `bench-${i}` });
      },
    },
    {
      // Every prize sold out (one of each, taken before the measurement): each draw can only
      // lose. The process remembers a prize it saw sold out (per prize table version, so
      // SaveActivity's new stock counts at once) and logs the draw without trying the stock.
      name: 'Lottery Draw after sell-out (one hot activity, 10,000 users, every prize gone)',
      async setup() {
        const now = Math.floor(Date.now() / 60_000) * 60_000;
        const saved = await lottery.saveActivity({
          activity: {
            enabled: true,
            title: 'bench wheel sold out',
            activeType: pb.ActiveType.ACTIVE_TYPE_NORMAL,
            template: pb.Template.TEMPLATE_WHEEL,
            maxPrize: 1_000_000,
            prizes: [prize('bike', '10', { sum: 1 }), prize('coupon', '20', { type: pb.PrizeType.PRIZE_TYPE_COUPON, sum: 1 }), prize('mug', '30', { sum: 1 })],
            sessions: [{ startTime: new Date(now - 3_600_000), endTime: new Date(now + 86_400_000) }],
          } as pb.Activity,
        });
        const code = saved.activity?.code ?? '';
        const tokens: string[] = [];
        for (let start = 0; start < USERS; start += 500) {
          const batch = await Promise.all(
            Array.from({ length: 500 }, (_, k) => lottery.enterActivity({ code, openid: `bench-so-${start + k}`, nickname: `user ${start + k}` })),
          );
          tokens.push(...batch.map((r) => r.token));
        }
        // Draw until each prize has been won once and then seen sold out.
        for (let start = 0; start < 400; start += 100) {
          await Promise.all(Array.from({ length: 100 }, (_, k) => lottery.draw({ token: tokens[start + k] ?? '', requestId: `bench-so-warm-${start + k}` })));
        }
        return (i) => lottery.draw({ token: tokens[i % USERS] ?? '', requestId: `bench-so-${i}` });
      },
    },
  ];
}
