/**
 * Made-up tokens must not fill the server's memory, and a production start must not fall back
 * to unsafe defaults (the real server process, as `npm start` runs it).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect } from 'chai';
import { createClients, GrpcStatus, HuodongError } from '@huodong/clients';
import { startTestApp } from '../../support/app.js';

describe('the server process under made-up tokens and unsafe production settings', () => {
  it('3,000 distinct unknown 30 KB tokens leave less than 20 MB behind in the server, each UNAUTHENTICATED @stress', async function () {
    this.timeout(120_000);
    // What the process retains, not what its garbage collector has yet to reclaim: measured
    // after a full collection (the RSS of a process receiving 90 MB of headers moves with
    // grpc-js's and http2's garbage, see the README).
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const retainedMb = (): number => {
      gc();
      gc();
      const m = process.memoryUsage();
      return (m.heapUsed + m.external) / 1024 / 1024;
    };
    const t = await startTestApp('sqlite+local');
    const clients = createClients({ address: t.grpcAddress });
    try {
      const call = async (token: string): Promise<void> => {
        try {
          await clients.member.getCpoint({ uid: 'u1' }, { token });
          throw new Error('an unknown token was accepted');
        } catch (err) {
          if (!(err instanceof HuodongError) || err.code !== GrpcStatus.UNAUTHENTICATED) throw err;
        }
      };
      const send = async (count: number, bytes: number): Promise<void> => {
        let next = 0;
        const worker = async (): Promise<void> => {
          while (next < count) {
            next += 1;
            await call(`hd_${randomBytes(bytes).toString('base64url').slice(0, bytes - 3)}`);
          }
        };
        await Promise.all(Array.from({ length: 16 }, worker));
      };
      await send(200, 30 * 1024); // connection and code paths warm
      const before = retainedMb();
      const rssBefore = process.memoryUsage().rss / 1024 / 1024;
      await send(3000, 30 * 1024);
      const after = retainedMb();
      const rssAfter = process.memoryUsage().rss / 1024 / 1024;
      process.stdout.write(
        `      retained ${before.toFixed(1)} -> ${after.toFixed(1)} MB (+${(after - before).toFixed(1)}); RSS ${rssBefore.toFixed(0)} -> ${rssAfter.toFixed(0)} MB\n`,
      );
      expect(after - before).to.be.below(20);
      // and a real token still works after the flood: the unknown ones evicted nothing
      expect((await t.clients.member.getCpoint({ uid: 'u1' })).cpoint).to.equal('0.00');
    } finally {
      clients.close();
      await t.stop();
    }
  });

  it('refuses a production start without MYSQL_URL or HUODONG_JWT_SECRET, naming each (NODE_ENV in any case)', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, NODE_ENV: 'Production', MYSQL_URL: '', REDIS_URL: '', HUODONG_JWT_SECRET: '', HUODONG_STORE: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).to.equal(2);
    expect(stderr).to.contain('MYSQL_URL is required when NODE_ENV=production').and.to.contain('HUODONG_JWT_SECRET is required when NODE_ENV=production');
  });
});
