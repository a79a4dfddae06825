/**
 * SIGTERM of a real server process (issue 16 item 5): health turns NOT_SERVING first while
 * calls are still served for HUODONG_SHUTDOWN_DELAY_MS, so a load balancer polling Check sees
 * it; then the server drains, and an open Health Watch stream ends instead of holding the
 * process for the whole grace.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { createClients } from '@huodong/clients';
import { HealthCheckRequest, HealthCheckResponse, HealthCheckResponse_ServingStatus as Serving } from '../../../src/gen/grpc/health/v1/health.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a !== null ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

const encode = (r: HealthCheckRequest): Buffer => Buffer.from(HealthCheckRequest.encode(r).finish());
const decode = (b: Buffer): HealthCheckResponse => HealthCheckResponse.decode(b);

describe('SIGTERM of the server process', function () {
  this.timeout(120_000);

  it('answers NOT_SERVING while still serving for the delay, then exits without waiting on an open Watch', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'huodong-sigterm-'));
    const port = await freePort();
    const token = `sigterm-${randomBytes(16).toString('hex')}`;
    const delayMs = 2_000;
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: {
        ...process.env,
        MYSQL_URL: '',
        REDIS_URL: '',
        HUODONG_DATA_DIR: dir,
        HUODONG_GRPC_HOST: '127.0.0.1',
        HUODONG_GRPC_PORT: String(port),
        HUODONG_HTTP_PORT: '-1',
        HUODONG_DEV_TOKEN: token,
        HUODONG_SHUTDOWN_DELAY_MS: String(delayMs),
        HUODONG_SHUTDOWN_GRACE_MS: '30000',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', () => undefined);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const health = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const clients = createClients({ address: `127.0.0.1:${port}`, token });
    try {
      const deadline = Date.now() + 60_000;
      while (!stdout.includes('huodong started')) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`server did not start:\n${stdout}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      await clients.member.getCpoint({ uid: 'sigterm' });

      // An open Watch stream, as a load balancer or sidecar keeps.
      const watched: Serving[] = [];
      const watch = health.makeServerStreamRequest('/grpc.health.v1.Health/Watch', encode, decode, { service: '' });
      watch.on('data', (r: HealthCheckResponse) => watched.push(r.status));
      const watchEnded = new Promise<string>((resolve) => {
        watch.on('status', (s: grpc.StatusObject) => resolve(grpc.status[s.code]));
        watch.on('error', () => undefined);
      });

      // A poller of Check, every 50 ms, from before the signal until the process is gone.
      const polls: Array<{ at: number; status: string }> = [];
      let polling = true;
      const poller = (async () => {
        while (polling) {
          const status = await new Promise<string>((resolve) =>
            health.makeUnaryRequest('/grpc.health.v1.Health/Check', encode, decode, { service: '' }, { deadline: Date.now() + 1000 }, (err, res) =>
              resolve(err ? 'error' : Serving[res?.status ?? Serving.UNKNOWN]),
            ),
          );
          polls.push({ at: Date.now(), status });
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      await new Promise((r) => setTimeout(r, 300));

      const signalledAt = Date.now();
      child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, delayMs / 2));
      // Half-way through the delay: NOT_SERVING, and a call is still served.
      expect(await clients.member.getCpoint({ uid: 'sigterm' })).to.deep.include({ cpoint: '0.00' });
      const code = await exited;
      const exitedAt = Date.now();
      polling = false;
      await poller;

      expect(code).to.equal(0);
      expect(await watchEnded, 'the Watch stream ended by the server').to.equal('OK');
      expect(watched).to.include(Serving.NOT_SERVING);
      const notServing = polls.filter((p) => p.status === 'NOT_SERVING');
      expect(polls.filter((p) => p.at < signalledAt).every((p) => p.status === 'SERVING')).to.equal(true);
      expect(notServing.length, 'Check answered NOT_SERVING during the delay').to.be.greaterThan(5);
      expect((notServing[0]?.at ?? Infinity) - signalledAt, 'NOT_SERVING right after the signal').to.be.below(delayMs / 2);
      expect(exitedAt - signalledAt, 'exits after the delay').to.be.at.least(delayMs);
      expect(exitedAt - signalledAt, 'the open Watch does not hold the process for the grace').to.be.below(delayMs + 10_000);
    } finally {
      clients.close();
      health.close();
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
