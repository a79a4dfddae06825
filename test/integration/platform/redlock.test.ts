import { expect } from 'chai';
import { LockBusyError, UnavailableError } from '../../../src/platform/errors.js';
import { createRedlockLocks, type RedisLocks } from '../../../src/platform/locks.js';

describe('Redlock locks on real Redis', () => {
  let locks: RedisLocks;
  before(() => {
    const url = process.env.REDIS_URL;
    if (url === undefined) throw new Error('REDIS_URL is not set: run `npm test`');
    locks = createRedlockLocks([url]);
  });
  after(async () => locks.close());

  it('excludes concurrent holders: 200 racing read-yield-write increments lose nothing', async () => {
    let value = 0;
    let inside = 0;
    let maxInside = 0;
    const key = `test:${Date.now()}`;
    await Promise.all(
      Array.from({ length: 200 }, () =>
        locks.withLock(
          key,
          async () => {
            inside += 1;
            maxInside = Math.max(maxInside, inside);
            const read = value;
            await new Promise((r) => setTimeout(r, 1));
            value = read + 1;
            inside -= 1;
          },
          { waitMs: 60_000 },
        ),
      ),
    );
    expect(value).to.equal(200);
    expect(maxInside).to.equal(1);
  });

  it('holds a lock as a random UUID value in Redis, gone once released', async () => {
    const key = `value:${Date.now()}`;
    const redis = locks.clients[0];
    if (redis === undefined) throw new Error('no Redis client');
    const seen = await locks.withLock(key, () => redis.get(`huodong:lock:${key}`));
    expect(seen).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(await redis.get(`huodong:lock:${key}`)).to.equal(null);
    const other = await locks.withLock(key, () => redis.get(`huodong:lock:${key}`));
    expect(other).to.not.equal(seen);
  });

  it('answers LOCK_BUSY when the lock stays held past the wait', async () => {
    let release!: () => void;
    const key = `busy:${Date.now()}`;
    const held = locks.withLock(key, () => new Promise<void>((r) => (release = r)));
    await new Promise((r) => setTimeout(r, 20));
    try {
      await locks.withLock(key, async () => undefined, { waitMs: 100 });
      expect.fail('expected LOCK_BUSY');
    } catch (err) {
      expect(err).to.be.instanceOf(LockBusyError);
    }
    release();
    await held;
  });

  it('answers UNAVAILABLE, not LOCK_BUSY, when Redis cannot be reached', async () => {
    const dead = createRedlockLocks(['redis://127.0.0.1:1']);
    try {
      await dead.withLock('x', async () => 'ran', { waitMs: 200 });
      expect.fail('expected UNAVAILABLE');
    } catch (err) {
      expect(err).to.be.instanceOf(UnavailableError);
    } finally {
      await dead.close();
    }
  });
});
