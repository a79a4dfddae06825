import { getEventListeners } from 'node:events';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { expect } from 'chai';
import {
  GrpcStatus,
  hasReason,
  HuodongError,
  legacyCodes,
  lottery,
  member,
  reasons,
  retrySafety,
  type Clients,
} from '@huodong/clients';
import { LEGACY } from '../../../src/member/errors.js';
import { InsufficientCpointError, OrderNotFoundError } from '../../../src/member/errors.js';
import { BareStatus, startStandIn, type StandIn } from './stand-in.js';

async function failure(call: Promise<unknown>): Promise<HuodongError> {
  try {
    await call;
  } catch (err) {
    expect(err).to.be.instanceOf(HuodongError);
    return err as HuodongError;
  }
  throw new Error('expected the call to fail');
}

describe('clients: deep-partial requests', () => {
  let standIn: StandIn;
  let received: lottery.SaveActivityRequest[] = [];
  before(async () => {
    standIn = await startStandIn(lottery.LotteryServiceDefinition, {
      async saveActivity(request) {
        received.push(request);
        return { activity: request.activity };
      },
    });
  });
  after(() => standIn.stop());
  beforeEach(() => {
    received = [];
  });

  it('takes a nested request with only some fields at every level and fills in the proto defaults', async () => {
    // Compiling this is half the test: before issue 18 it needed prizeId, money, min, max...
    const { activity } = await standIn.clients.lottery.saveActivity({
      activity: { title: 'spring', prizes: [{ name: 'cup', sum: 3 }, { name: 'pen' }] },
    });
    expect(received).to.have.length(1);
    expect(activity?.title).to.equal('spring');
    expect(activity?.activityId).to.equal(0);
    expect(activity?.prizes).to.deep.equal([
      lottery.Prize.fromPartial({ name: 'cup', sum: 3 }),
      lottery.Prize.fromPartial({ name: 'pen' }),
    ]);
    expect(activity?.prizes[1]).to.include({ prizeId: 0, sum: 0, money: '', min: '', max: '', chance: '' });
  });
});

describe('clients: AbortSignal', () => {
  let standIn: StandIn;
  let calls = 0;
  let hang = false;
  before(async () => {
    standIn = await startStandIn(member.MemberServiceDefinition, {
      async getCpoint() {
        calls += 1;
        if (hang) await delay(5_000);
        return { cpoint: '1.00' };
      },
    });
  });
  after(() => standIn.stop());
  beforeEach(() => {
    calls = 0;
    hang = false;
  });

  it('leaves no listener behind: 50 calls sharing one signal, one after the other and all at once', async () => {
    const controller = new AbortController();
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(w);
    };
    process.on('warning', onWarning);
    try {
      for (let i = 0; i < 50; i++) {
        await standIn.clients.member.getCpoint({ uid: 'u' }, { signal: controller.signal });
      }
      expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
      const inFlight = Array.from({ length: 50 }, () =>
        standIn.clients.member.getCpoint({ uid: 'u' }, { signal: controller.signal }),
      );
      expect(getEventListeners(controller.signal, 'abort')).to.have.length(1);
      await Promise.all(inFlight);
      expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
      await delay(10); // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.map((w) => w.name)).to.not.include('MaxListenersExceededWarning');
    expect(calls).to.equal(100);
  });

  it('refuses at once, without calling, when the signal is already aborted', async () => {
    const reason = new Error('user went away');
    const err = await failure(standIn.clients.member.getCpoint({ uid: 'u' }, { signal: AbortSignal.abort(reason) }));
    expect(err.code).to.equal(GrpcStatus.CANCELLED);
    expect(err.reason).to.equal('CANCELLED');
    expect(err.cause).to.equal(reason);
    expect(calls).to.equal(0);
  });

  it('cancels a call in flight, and only the calls of that signal', async () => {
    hang = true;
    const controller = new AbortController();
    const started = Date.now();
    const cancelledCall = failure(standIn.clients.member.getCpoint({ uid: 'u' }, { signal: controller.signal }));
    const other = new AbortController();
    const untouched = standIn.clients.member.getCpoint({ uid: 'u' }, { signal: other.signal, deadlineMs: 300 });
    await delay(100);
    controller.abort();
    const err = await cancelledCall;
    expect(err.code).to.equal(GrpcStatus.CANCELLED);
    expect((err.cause as Error).name).to.equal('AbortError');
    expect(Date.now() - started).to.be.below(2_000);
    expect((await failure(untouched)).code).to.equal(GrpcStatus.DEADLINE_EXCEEDED);
    expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
    expect(getEventListeners(other.signal, 'abort')).to.have.length(0);
  });
});

describe('clients: typed errors', () => {
  let standIn: StandIn;
  before(async () => {
    standIn = await startStandIn(member.MemberServiceDefinition, {
      async consumeCpoint() {
        throw new InsufficientCpointError();
      },
      async checkConsume() {
        throw new OrderNotFoundError();
      },
    });
  });
  after(() => standIn.stop());

  it('carries the reason, domain and legacy code of the list the server uses', async () => {
    const err = await failure(standIn.clients.member.consumeCpoint({ orderId: 'o', uid: 'u', cpoint: '1.00' }));
    expect(err.reason).to.equal('INSUFFICIENT_CPOINT');
    expect(err.domain).to.equal('huodong.member');
    expect(err.legacyCode).to.equal(String(legacyCodes.member.INSUFFICIENT_CPOINT));
    expect(hasReason(err, 'INSUFFICIENT_CPOINT')).to.equal(true);
    expect(hasReason(err, 'ORDER_NOT_FOUND')).to.equal(false);
    expect(reasons.member).to.include(err.reason);
    expect(LEGACY).to.equal(legacyCodes.member);
  });

  it('is recognised as a HuodongError by both builds, ESM and CommonJS (the dual-package hazard)', async () => {
    const err = await failure(standIn.clients.member.checkConsume({ orderId: 'o', uid: 'u' }));
    const dist = join(dirname(createRequire(join(process.cwd(), 'package.json')).resolve('@huodong/clients/package.json')), 'dist');
    type Build = { HuodongError: typeof HuodongError };
    const cjs = createRequire(join(process.cwd(), 'package.json'))(join(dist, 'cjs/index.js')) as Build;
    const esm = (await import(pathToFileURL(join(dist, 'esm/index.js')).href)) as Build;
    expect(cjs.HuodongError).to.not.equal(esm.HuodongError);
    const fromEsm = new esm.HuodongError(GrpcStatus.ABORTED, 'm', 'LOCK_BUSY', 'huodong.member', '10000', {});
    const fromCjs = new cjs.HuodongError(GrpcStatus.ABORTED, 'm', 'LOCK_BUSY', 'huodong.member', '10000', {});
    for (const e of [err, fromEsm, fromCjs]) {
      expect(e).to.be.instanceOf(cjs.HuodongError);
      expect(e).to.be.instanceOf(esm.HuodongError);
      expect(e).to.be.instanceOf(Error);
    }
    expect(new Error('x')).to.not.be.instanceOf(cjs.HuodongError);
    expect(new Error('x')).to.not.be.instanceOf(esm.HuodongError);
  });
});

describe('clients: retries', () => {
  let standIn: StandIn;
  let retrying: Clients;
  const seen: Record<string, string[]> = {};
  let failures: GrpcStatus[] = [];
  const answer = async (method: string, key: string): Promise<void> => {
    (seen[method] ??= []).push(key);
    const next = failures.shift();
    if (next === GrpcStatus.DEADLINE_EXCEEDED) await delay(400);
    else if (next !== undefined) throw new BareStatus(next);
  };
  before(async () => {
    standIn = await startStandIn(member.MemberServiceDefinition, {
      async consumeCpoint(request) {
        await answer('consumeCpoint', request.orderId);
        return { orderId: request.orderId, cpoint: '9.00' };
      },
      async revokeConsume(request) {
        await answer('revokeConsume', request.orderId);
        return { orderId: request.orderId, cpoint: '10.00' };
      },
      async getCpoint(request) {
        await answer('getCpoint', request.uid);
        return { cpoint: '10.00' };
      },
    });
    retrying = standIn.clientsWith({ token: 't', deadlineMs: 200, retry: { attempts: 4, baseDelayMs: 20, maxDelayMs: 50 } });
  });
  after(() => standIn.stop());
  beforeEach(() => {
    failures = [];
    for (const key of Object.keys(seen)) delete seen[key];
  });

  it('sends a value-moving call again with the same key after UNAVAILABLE and DEADLINE_EXCEEDED', async () => {
    failures = [GrpcStatus.UNAVAILABLE, GrpcStatus.DEADLINE_EXCEEDED, GrpcStatus.UNAVAILABLE];
    const paid = await retrying.member.consumeCpoint({ orderId: 'order-1', uid: 'u', cpoint: '1.00' });
    expect(paid.orderId).to.equal('order-1');
    expect(seen.consumeCpoint).to.deep.equal(['order-1', 'order-1', 'order-1', 'order-1']);
  });

  it('gives up after its attempts with the last error', async () => {
    failures = [GrpcStatus.UNAVAILABLE, GrpcStatus.UNAVAILABLE, GrpcStatus.UNAVAILABLE, GrpcStatus.UNAVAILABLE, GrpcStatus.UNAVAILABLE];
    const err = await failure(retrying.member.consumeCpoint({ orderId: 'order-2', uid: 'u', cpoint: '1.00' }));
    expect(err.code).to.equal(GrpcStatus.UNAVAILABLE);
    expect(seen.consumeCpoint).to.have.length(4);
  });

  it('retries reads, and only when asked: per call or by the client default', async () => {
    failures = [GrpcStatus.UNAVAILABLE];
    expect((await failure(standIn.clients.member.getCpoint({ uid: 'u' }))).code).to.equal(GrpcStatus.UNAVAILABLE);
    failures = [GrpcStatus.UNAVAILABLE];
    expect(await standIn.clients.member.getCpoint({ uid: 'u' }, { retry: { baseDelayMs: 1 } })).to.deep.equal({ cpoint: '10.00' });
    failures = [GrpcStatus.UNAVAILABLE];
    expect((await failure(retrying.member.getCpoint({ uid: 'u' }, { retry: false }))).code).to.equal(GrpcStatus.UNAVAILABLE);
    expect(seen.getCpoint).to.have.length(4);
  });

  it('does not retry a call whose replay is refused, a call without its key, or other codes', async () => {
    expect(retrySafety(member.MemberServiceDefinition.fullName, 'revokeConsume')).to.equal('never');
    failures = [GrpcStatus.UNAVAILABLE];
    await failure(retrying.member.revokeConsume({ orderId: 'order-3', uid: 'u', cpoint: '1.00' }));
    failures = [GrpcStatus.UNAVAILABLE];
    await failure(retrying.member.consumeCpoint({ uid: 'u', cpoint: '1.00' }));
    failures = [GrpcStatus.ABORTED];
    expect((await failure(retrying.member.consumeCpoint({ orderId: 'order-4', uid: 'u', cpoint: '1.00' }))).code).to.equal(
      GrpcStatus.ABORTED,
    );
    expect(seen.revokeConsume).to.have.length(1);
    expect(seen.consumeCpoint).to.deep.equal(['', 'order-4']);
  });

  it('stops waiting to retry as soon as the signal aborts', async () => {
    const slow = standIn.clientsWith({ token: 't', retry: { attempts: 5, baseDelayMs: 10_000, maxDelayMs: 10_000 } });
    failures = [GrpcStatus.UNAVAILABLE, GrpcStatus.UNAVAILABLE, GrpcStatus.UNAVAILABLE];
    const controller = new AbortController();
    const started = Date.now();
    const call = failure(slow.member.consumeCpoint({ orderId: 'order-5', uid: 'u', cpoint: '1.00' }, { signal: controller.signal }));
    await delay(100);
    controller.abort();
    const err = await call;
    expect(err.code).to.equal(GrpcStatus.CANCELLED);
    expect(Date.now() - started).to.be.below(1_000);
    // Full jitter may draw a short first back-off; whatever was sent kept the key.
    expect(new Set(seen.consumeCpoint)).to.deep.equal(new Set(['order-5']));
    expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
  });
});
