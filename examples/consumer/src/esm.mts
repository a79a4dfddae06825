// The same package from an ES module (module node16, the "import" condition).
import { createClients, HuodongError, type HuodongReason } from '@huodong/clients';
import { legacyCodes } from '@huodong/clients/reasons';

const huodong = createClients({ address: process.env.HUODONG_ADDRESS ?? 'localhost:50051', token: process.env.HUODONG_TOKEN ?? '' });
try {
  const { cas } = await huodong.userdata.getActUserData({ actid: '1', openid: 'esm' });
  try {
    await huodong.member.consumeCpoint({ orderId: `esm-${Date.now()}`, uid: `esm-${Date.now()}`, cpoint: '1.00' });
    throw new Error('expected INSUFFICIENT_CPOINT');
  } catch (err) {
    const reason: HuodongReason | undefined = err instanceof HuodongError ? err.reason : undefined;
    if (reason !== 'INSUFFICIENT_CPOINT') throw err;
    if (err instanceof HuodongError && err.legacyCode !== `${legacyCodes.member.INSUFFICIENT_CPOINT}`) throw err;
  }
  console.log(`example consumer (ESM): ok, cas ${cas}`);
} finally {
  huodong.close();
}
