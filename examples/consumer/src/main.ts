/**
 * A short tour of @huodong/clients against a running huodong (HUODONG_ADDRESS, HUODONG_TOKEN
 * with every scope, e.g. a dev-mode server). Exits non-zero on the first surprise.
 */
import { randomUUID } from 'node:crypto';
import { strict as assert } from 'node:assert';
import {
  createClients,
  credentials,
  GrpcStatus,
  hasReason,
  HuodongError,
  legacyCodes,
  lottery,
  type MemberReason,
} from '@huodong/clients';
import { isKnownReason, reasons } from '@huodong/clients/reasons';

async function failure(call: Promise<unknown>): Promise<HuodongError> {
  try {
    await call;
  } catch (err) {
    if (err instanceof HuodongError) return err;
    throw err;
  }
  throw new Error('the call should have failed');
}

async function main(): Promise<void> {
  const address = process.env.HUODONG_ADDRESS ?? 'localhost:50051';
  const huodong = createClients({
    address,
    token: process.env.HUODONG_TOKEN ?? '',
    deadlineMs: 5_000,
    // credentials from the package are those of the consumer's own grpc-js (a peer dependency)
    credentials: credentials.createInsecure(),
    retry: { attempts: 3, baseDelayMs: 50 },
  });
  try {
    // 1. A nested request with only the fields that matter; the rest gets proto defaults.
    const hour = 3_600_000;
    const start = new Date(Math.floor(Date.now() / 60_000) * 60_000 - hour);
    const saved = await huodong.lottery.saveActivity({
      activity: {
        enabled: true,
        title: 'example',
        activeType: lottery.ActiveType.ACTIVE_TYPE_NORMAL,
        template: lottery.Template.TEMPLATE_SCRATCH_CARD,
        sessions: [{ startTime: start, endTime: new Date(start.getTime() + 24 * hour) }],
        prizes: [{ type: lottery.PrizeType.PRIZE_TYPE_PHYSICAL, name: 'cup', sum: 3, chance: '10' }],
      },
    });
    assert.equal(saved.activity?.prizes[0]?.name, 'cup');
    assert.equal(saved.activity?.prizes[0]?.sum, 3);
    console.log(`saved lottery activity ${saved.activity?.activityId} (${saved.activity?.code})`);

    // 2. Typed errors: reasons are a union, so a misspelt one would not compile.
    const actid = String(Date.now());
    const openid = `o-${randomUUID()}`;
    const first = await huodong.userdata.setActUserData({ actid, openid, data: { seen: 1 }, cas: '0' });
    const stale = await failure(huodong.userdata.setActUserData({ actid, openid, data: { seen: 2 }, cas: '0' }));
    assert.equal(stale.reason, 'CAS_CONFLICT');
    assert.equal(stale.code, GrpcStatus.ABORTED);
    assert.equal(stale.domain, 'huodong.userdata');
    console.log(`userdata cas ${first.cas}; a stale write: ${stale.reason}`);

    const uid = `u-${randomUUID()}`;
    const broke = await failure(huodong.member.consumeCpoint({ orderId: randomUUID(), uid, cpoint: '1.00' }));
    const expected: MemberReason = 'INSUFFICIENT_CPOINT';
    assert.ok(hasReason(broke, expected));
    assert.equal(broke.legacyCode, `${legacyCodes.member.INSUFFICIENT_CPOINT}`);
    assert.ok(isKnownReason(broke.reason) && reasons.member.some((r) => r === broke.reason));
    console.log(`consume without c-points: ${broke.reason} (${broke.legacyCode})`);

    // 3. Retries keep the idempotency key: the same order is paid once.
    const orderId = randomUUID();
    await huodong.member.adminAddCpoint({ requestId: randomUUID(), uid, cpoint: '5.00', adminId: 'example' });
    const paid = await huodong.member.consumeCpoint({ orderId, uid, cpoint: '2.00' }, { retry: { attempts: 5 } });
    const replay = await huodong.member.consumeCpoint({ orderId, uid, cpoint: '2.00' });
    assert.equal(replay.cpoint, paid.cpoint);
    assert.equal((await huodong.member.getCpoint({ uid })).cpoint, '3.00');
    console.log(`paid ${orderId} once: balance ${paid.cpoint}`);

    // 4. Signals: an aborted one refuses at once; many calls on one signal leave no listener.
    const gone = await failure(huodong.member.getCpoint({ uid }, { signal: AbortSignal.abort() }));
    assert.equal(gone.code, GrpcStatus.CANCELLED);
    const controller = new AbortController();
    await Promise.all(Array.from({ length: 50 }, () => huodong.member.getCpoint({ uid }, { signal: controller.signal })));
    console.log(`an aborted signal: ${gone.reason}; 50 calls on one signal: fine`);
  } finally {
    huodong.close();
  }

  // 5. A server that is not there: UNAVAILABLE after the retries (reads are retried).
  const nowhere = createClients({ address: '127.0.0.1:1', token: 'x', retry: { attempts: 2, baseDelayMs: 10 } });
  try {
    const down = await failure(nowhere.member.getCpoint({ uid: 'u' }, { deadlineMs: 2_000 }));
    assert.ok(down.code === GrpcStatus.UNAVAILABLE || down.code === GrpcStatus.DEADLINE_EXCEEDED, down.reason);
    console.log(`no server: ${down.reason}`);
  } finally {
    nowhere.close();
  }
  console.log('example consumer (CommonJS): ok');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
