// Must NOT compile: each line marked `// error TSnnnn` must fail with that code, and nothing
// else may (checked by test/unit/clients/types.test.ts).
import { createClients, hasReason, HuodongError, type MemberLegacyCode, type UserdataReason } from '@huodong/clients';

export async function consumer(err: unknown): Promise<void> {
  const huodong = createClients({ address: 'localhost:50051' });
  if (err instanceof HuodongError) {
    if (err.reason === 'CAS_CONFLCT') return; // error TS2367
    if (err.legacyCode === '10002') return; // error TS2367
  }
  if (hasReason(err, 'INSUFICIENT_CPOINT')) return; // error TS2345
  const reason: UserdataReason = 'INSUFFICIENT_CPOINT'; // error TS2322
  const code: MemberLegacyCode = '1001'; // error TS2820
  await huodong.lottery.saveActivity({ activity: { title: 'x', prizes: [{ nmae: 'cup' }] } }); // error TS2353
  await huodong.member.consumeCpoint({ orderId: 'o', cpoint: 1 }); // error TS2322
  await huodong.member.getCpoint({ uid: 'u' }, { retry: { attempt: 3 } }); // error TS2561
  huodong.points.exportExchangesToShip({}, { retry: { attempts: 3 } }); // error TS2353
  void [reason, code];
}
