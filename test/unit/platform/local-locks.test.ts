import { expect } from 'chai';
import { areaErrors, LockBusyError } from '../../../src/platform/errors.js';
import { createLocalLocks } from '../../../src/platform/locks.js';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('in-process locks', () => {
  it('excludes concurrent holders of one key: 300 racing read-yield-write increments lose nothing', async () => {
    const locks = createLocalLocks();
    let value = 0;
    let inside = 0;
    let maxInside = 0;
    await Promise.all(
      Array.from({ length: 300 }, () =>
        locks.withLock('k', async () => {
          inside += 1;
          maxInside = Math.max(maxInside, inside);
          const read = value;
          await tick();
          value = read + 1;
          inside -= 1;
        }),
      ),
    );
    expect(value).to.equal(300);
    expect(maxInside).to.equal(1);
  });

  it('lets different keys run in parallel', async () => {
    const locks = createLocalLocks();
    let release!: () => void;
    const held = locks.withLock('a', () => new Promise<void>((r) => (release = r)));
    await locks.withLock('b', async () => undefined);
    release();
    await held;
  });

  it('gives up with LOCK_BUSY after its wait, and the queue keeps working', async () => {
    const locks = createLocalLocks();
    let release!: () => void;
    const held = locks.withLock('k', () => new Promise<void>((r) => (release = r)));
    try {
      await locks.withLock('k', async () => 'never', { waitMs: 30, busy: areaErrors('member').lockBusy });
      expect.fail('expected LOCK_BUSY');
    } catch (err) {
      expect(err).to.be.instanceOf(LockBusyError);
      expect((err as LockBusyError).legacyCode).to.equal('10000');
    }
    release();
    await held;
    expect(await locks.withLock('k', async () => 'free again')).to.equal('free again');
  });

  it('releases the lock when the holder throws', async () => {
    const locks = createLocalLocks();
    await locks.withLock('k', async () => Promise.reject(new Error('boom'))).catch(() => undefined);
    expect(await locks.withLock('k', async () => 1, { waitMs: 50 })).to.equal(1);
  });
});
