/**
 * Issue 16 item 1: a refused request is not paid later by a stale copy of itself. Two server
 * instances share one MariaDB and Redis; instance A runs in a child process and is paused
 * (SIGSTOP) with a call in its socket; the client gives up on A and sends the same key to B,
 * which refuses it; credits arrive; A resumes and runs its old call, which must get B's
 * refusal and move nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { expect } from 'chai';
import { createClients, GrpcStatus, type Clients } from '@huodong/clients';
import { freshMysqlDatabase, startTestApp, type TestApp } from '../support/app.js';
import { expectError } from '../support/errors.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a !== null ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('a stale request after a refusal, two instances on one MariaDB + Redis [mysql+redlock]', function () {
  this.timeout(120_000);
  let db: { url: string; drop(): Promise<void> };
  let b: TestApp;
  let a: ChildProcess;
  let aClients: Clients;
  let bClients: Clients;

  before(async () => {
    db = await freshMysqlDatabase();
    b = await startTestApp('mysql+redlock', { mysqlUrl: db.url });
    const { token } = await b.clientsWithScopes(['member', 'member.admin', 'points', 'points.admin']);
    bClients = b.clientsWithToken(token);
    const port = await freePort();
    a = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: {
        ...process.env,
        MYSQL_URL: db.url,
        HUODONG_GRPC_HOST: '127.0.0.1',
        HUODONG_GRPC_PORT: String(port),
        HUODONG_HTTP_PORT: '-1',
        HUODONG_DEV: '0',
        HUODONG_JWT_SECRET: 'x'.repeat(16) + 'y'.repeat(16) + 'stale-request-test',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    a.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    a.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const deadline = Date.now() + 60_000;
    while (!out.includes('huodong started')) {
      if (Date.now() > deadline || a.exitCode !== null) throw new Error(`instance A did not start:\n${out}`);
      await pause(100);
    }
    aClients = createClients({ address: `127.0.0.1:${port}`, token, deadlineMs: 60_000 });
  });

  after(async () => {
    aClients?.close();
    if (a !== undefined && a.exitCode === null) {
      a.kill('SIGCONT');
      a.kill('SIGKILL');
    }
    await b?.stop();
    await db?.drop();
  });

  /** Sends `call` to A while A is stopped, so A runs it only once resumed. */
  const sendWhilePaused = async <T>(call: () => Promise<T>): Promise<{ settled: Promise<PromiseSettledResult<T>> }> => {
    a.kill('SIGSTOP');
    await pause(200);
    const settled = call().then(
      (value): PromiseSettledResult<T> => ({ status: 'fulfilled', value }),
      (reason: unknown): PromiseSettledResult<T> => ({ status: 'rejected', reason }),
    );
    await pause(300);
    return { settled };
  };

  it('ConsumeCpoint: B refuses the order, credits arrive, paused A resumes: A answers the refusal and pays nothing', async () => {
    const uid = `stale-${process.pid}`;
    await bClients.member.adminAddCpoint({ requestId: `${uid}-fund-1`, uid, cpoint: '1.00', adminId: 'ops' });
    // A's connection is open before it stops, as a client's would be.
    expect(await aClients.member.getCpoint({ uid })).to.deep.equal({ cpoint: '1.00' });
    const order = { orderId: `${uid}-order`, uid, cpoint: '5.00' };
    const { settled } = await sendWhilePaused(() => aClients.member.consumeCpoint(order));
    // The client gave up on A and tries B: refused.
    await expectError(bClients.member.consumeCpoint(order), GrpcStatus.FAILED_PRECONDITION, 'INSUFFICIENT_CPOINT');
    await bClients.member.adminAddCpoint({ requestId: `${uid}-fund-2`, uid, cpoint: '10.00', adminId: 'ops' });
    a.kill('SIGCONT');
    const late = await settled;
    expect(late.status, 'the stale call on A').to.equal('rejected');
    expect((late as PromiseRejectedResult).reason).to.include({ reason: 'INSUFFICIENT_CPOINT' });
    expect(await bClients.member.getCpoint({ uid })).to.deep.equal({ cpoint: '11.00' });
    const consumed = (await b.app.db.knex('member_journal').where({ uid, kind: 'consume' }).count({ n: '*' }).first()) as { n: number | string };
    expect(Number(consumed.n)).to.equal(0);
    // Paying later takes a new order id.
    expect(await bClients.member.consumeCpoint({ ...order, orderId: `${uid}-order-2` })).to.deep.equal({ orderId: `${uid}-order-2`, cpoint: '6.00' });
  });
});
