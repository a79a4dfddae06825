// Must compile: what a consumer writes with @huodong/clients (checked by
// test/unit/clients/types.test.ts, which also checks that fail.ts does not compile).
import {
  createClients,
  credentials,
  hasReason,
  HuodongError,
  legacyCodes,
  type GrantReason,
  type HuodongReason,
  type LegacyCode,
  type MemberLegacyCode,
  type MemberReason,
  type Reason,
  type UserdataReason,
} from '@huodong/clients';
import { reasons } from '@huodong/clients/reasons';

export async function consumer(signal: AbortSignal): Promise<void> {
  const huodong = createClients({
    address: 'localhost:50051',
    token: 't',
    credentials: credentials.createInsecure(),
    retry: { attempts: 3 },
  });
  // Deep-partial nested requests: the rest gets proto defaults.
  await huodong.lottery.saveActivity({ activity: { title: 'spring', prizes: [{ name: 'cup', sum: 3 }] } });
  await huodong.points.savePrize({ prize: { title: 'mug', total: '10' } });
  await huodong.member.consumeCpoint({ orderId: 'o-1', uid: 'u', cpoint: '1.00' }, { signal, retry: { baseDelayMs: 50 } });
  await huodong.userdata.getActUserData({ actid: '1', openid: 'o' }, { retry: false, deadlineMs: 500 });
  try {
    await huodong.userdata.setActUserData({ actid: '1', openid: 'o', data: { seen: true }, cas: '0' });
  } catch (err) {
    if (err instanceof HuodongError) {
      const reason: HuodongReason = err.reason;
      if (err.reason === 'CAS_CONFLICT' || err.reason === 'STORE_UNAVAILABLE' || err.reason === 'UNAVAILABLE') void reason;
      const legacy: LegacyCode | undefined = err.legacyCode;
      if (legacy === '10001') void legacy;
      switch (err.reason) {
        case 'INSUFFICIENT_CPOINT':
        case 'NONCE_REPLAYED':
        case 'DEADLINE_EXCEEDED':
          break;
      }
    }
    if (hasReason(err, 'LOCK_BUSY')) {
      const narrowed: 'LOCK_BUSY' = err.reason;
      void narrowed;
    }
  }
  const userdata: UserdataReason[] = ['CAS_CONFLICT', 'INVALID_ARGUMENT'];
  const memberReasons: readonly MemberReason[] = reasons.member;
  const grantReason: GrantReason = 'NONCE_REPLAYED';
  const anyReason: Reason = 'PRIZE_SOLD_OUT';
  const code: MemberLegacyCode = `${legacyCodes.member.INSUFFICIENT_CPOINT}`;
  void [userdata, memberReasons, grantReason, anyReason, code];
  // A server-streaming RPC is an async iterable of its responses.
  for await (const page of huodong.lottery.exportWinners({ activityId: 1, physicalOnly: true }, { signal, requestId: 'r' })) {
    const first: string | undefined = page.winners[0]?.tel;
    void first;
    break;
  }
  huodong.close();
}
