import { expect } from 'chai';
import { GrpcStatus, HuodongError, type HuodongReason } from '@huodong/clients';
import { InvalidArgumentError } from '../../src/platform/errors.js';

/** Awaits a call expected to fail and returns its HuodongError after checking code/reason. */
export async function expectError(
  call: Promise<unknown>,
  code: GrpcStatus,
  reason?: HuodongReason,
): Promise<HuodongError> {
  try {
    await call;
  } catch (err) {
    expect(err).to.be.instanceOf(HuodongError);
    const e = err as HuodongError;
    expect(GrpcStatus[e.code], `${e.reason}: ${e.message}`).to.equal(GrpcStatus[code]);
    if (reason !== undefined) expect(e.reason).to.equal(reason);
    return e;
  }
  throw new Error(`expected ${GrpcStatus[code]}${reason ? ` ${reason}` : ''}, but the call succeeded`);
}

/** Runs `fn`, expected to throw an instance of `type`, and returns what it threw. */
export function thrownBy<E extends Error>(fn: () => unknown, type: new (...args: never[]) => E): E {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(type);
    return err as E;
  }
  throw new Error(`expected ${type.name}`);
}

/** Runs a pure validation expected to throw InvalidArgumentError and returns the field it names. */
export function fieldOf(fn: () => unknown): string {
  return thrownBy(fn, InvalidArgumentError).field;
}
