import { randomBytes } from 'node:crypto';
import { grant } from '@huodong/clients';
import type { BenchContext, Scenario } from './scenarios.js';

const DAY_MS = 86_400_000;

export function grantScenarios(ctx: BenchContext): Scenario[] {
  const { grant: service } = ctx.clients;
  const run = randomBytes(4).toString('hex');
  return [
    {
      name: 'grant Participate sync (distinct identities)',
      async setup() {
        const now = Date.now();
        const saved = await service.saveActivity({
          activity: grant.Activity.fromPartial({
            label: `bench-${run}`,
            name: 'bench',
            status: grant.ActivityStatus.ACTIVITY_STATUS_ENABLED,
            startTime: new Date(now - DAY_MS),
            endTime: new Date(now + DAY_MS),
          }),
        });
        await service.saveSubActivity({
          subActivity: grant.SubActivity.fromPartial({
            activityId: saved.activity?.id ?? '',
            name: 'bench unit',
            quota: '1000000000',
            perPersonLimit: 1,
            products: [
              { productUri: 'product://bench', validity: { $case: 'days', value: 365 }, activateType: grant.ActivateType.ACTIVATE_TYPE_ON_GRANT },
            ],
          }),
        });
        return async (i) => {
          const res = await service.participate({
            identity: `13${String(i).padStart(9, '0')}`,
            activityLabel: `bench-${run}`,
            source: 'bench',
            extParams: { mode: 'sync' },
            nonce: `${run}-${i}`,
          });
          if (res.claim?.resultCode !== '0000') throw new Error(`answered ${res.claim?.resultCode ?? 'nothing'}`);
        };
      },
    },
  ];
}
