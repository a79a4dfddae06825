/**
 * The lock breaker on a Redis that is not there: the first call finds out, later calls skip
 * Redis at once; 'proceed' callers run without the lock, the others get UNAVAILABLE; Redis
 * errors are logged, rate-limited.
 */
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { pino } from 'pino';
import { UnavailableError } from '../../../src/platform/errors.js';
import { createRedlockLocks } from '../../../src/platform/locks.js';
import { createServer, type Server } from 'node:net';

describe('Redlock locks with Redis down', function () {
  this.timeout(60_000);

  it('fails fast once the breaker is open, runs proceed callers without the lock, and logs Redis errors rate-limited', async () => {
    // A port that accepts TCP and never answers: a paused Redis (commands time out).
    const sockets: Array<import('node:net').Socket> = [];
    const silent: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const address = silent.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write(chunk: Buffer, _e, done) { lines.push(chunk.toString()); done(); } }));
    const locks = createRedlockLocks([`redis://127.0.0.1:${port}`], { logger });
    try {
      const first = Date.now();
      const ran = await locks.withLock('k', async () => 'ran', { ifUnavailable: 'proceed' });
      expect(ran).to.equal('ran');
      expect(Date.now() - first, 'the first call finds the dead Redis within a second').to.be.below(3000);
      expect(locks.bypassing).to.equal(true);

      const times: number[] = [];
      for (let i = 0; i < 50; i += 1) {
        const at = Date.now();
        expect(await locks.withLock(`k${i}`, async () => i, { ifUnavailable: 'proceed' })).to.equal(i);
        times.push(Date.now() - at);
      }
      expect(Math.max(...times), 'with the breaker open, Redis is skipped').to.be.below(50);
      try {
        await locks.withLock('strict', async () => 'ran');
        expect.fail('expected UNAVAILABLE');
      } catch (err) {
        expect(err).to.be.instanceOf(UnavailableError);
      }
      expect(lines.filter((l) => l.includes('lock service (Redis) failed')).length, 'the breaker logs once per outage').to.equal(1);
    } finally {
      await locks.close();
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  it('logs a refused Redis, at most one line per period however many errors', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write(chunk: Buffer, _e, done) { lines.push(chunk.toString()); done(); } }));
    const locks = createRedlockLocks(['redis://127.0.0.1:1'], { logger });
    try {
      // Several reconnect attempts, each an 'error' (ioredis retries after 100, 200, 300 ms, ...).
      let attempts = 0;
      locks.clients[0]?.on('error', () => (attempts += 1));
      const until = Date.now() + 10_000;
      while (attempts < 4 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      expect(attempts, 'reconnect attempts seen').to.be.at.least(4);
      const errors = lines.filter((l) => l.includes('"msg":"Redis error"'));
      expect(errors.length).to.equal(1);
      expect(errors[0]).to.contain('ECONNREFUSED');
    } finally {
      await locks.close();
    }
  });
});
