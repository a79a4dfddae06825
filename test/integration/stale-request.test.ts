/**
 * Issue 16 item 1: a refused request (ConsumeCpoint; ChangePoints, ExchangePrize) is not paid
 * later by a stale copy of itself. Two server instances share one MariaDB and Redis; instance A
 * runs in a child process and is paused (SIGSTOP) with a call in its socket; the client gives up
 * on A and sends the same key to B, which refuses it; credits arrive; A resumes and runs its old
 * call, which must get B's refusal and move nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { expect } from 'chai';
import { createClients, GrpcStatus, points as ppb, type Clients } from '@huodong/clients';
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

  it('ChangePoints debit and ExchangePrize: B refuses, points arrive, paused A resumes: A answers the refusal and moves nothing', async () => {
    const openId = `stale-points-${process.pid}`;
    const credit = (requestId: string, faceValue: string) =>
      bClients.points.changePoints({ requestId, openId, direction: ppb.ChangeDirection.CHANGE_DIRECTION_CREDIT, faceValue, source: ppb.PointsSource.POINTS_SOURCE_OTHER });
    await credit(`${openId}-fund-1`, '10');
    const prize = (
      await bClients.points.savePrize({
        prize: ppb.Prize.fromPartial({
          prizeId: `${openId}-mug`,
          faceValue: '30',
          title: 'Mug',
          total: '5',
          type: ppb.PrizeType.PRIZE_TYPE_VIRTUAL_GOODS,
          exchangeLimit: ppb.ExchangeLimit.EXCHANGE_LIMIT_DAY,
        }),
      })
    ).prize;
    const prizeId = prize?.prizeId ?? '';
    // A's connection is open before it stops, as a client's would be.
    expect((await aClients.points.getUserPoints({ openId })).points).to.equal('10');
    const debit = { requestId: `${openId}-debit`, openId, direction: ppb.ChangeDirection.CHANGE_DIRECTION_DEBIT, faceValue: '50', source: ppb.PointsSource.POINTS_SOURCE_OTHER };
    const exchange = { requestId: `${openId}-exchange`, openId, prizeId };
    const { settled: lateDebit } = await sendWhilePaused(() => aClients.points.changePoints(debit));
    const lateExchange = aClients.points.exchangePrize(exchange).then(
      (value): PromiseSettledResult<unknown> => ({ status: 'fulfilled', value }),
      (reason: unknown): PromiseSettledResult<unknown> => ({ status: 'rejected', reason }),
    );
    await pause(300);
    // The client gave up on A and tries B: refused.
    await expectError(bClients.points.changePoints(debit), GrpcStatus.FAILED_PRECONDITION, 'INSUFFICIENT_POINTS');
    await expectError(bClients.points.exchangePrize(exchange), GrpcStatus.FAILED_PRECONDITION, 'INSUFFICIENT_POINTS');
    await credit(`${openId}-fund-2`, '100');
    a.kill('SIGCONT');
    for (const late of [await lateDebit, await lateExchange]) {
      expect(late.status, 'the stale call on A').to.equal('rejected');
      expect((late as PromiseRejectedResult).reason).to.include({ reason: 'INSUFFICIENT_POINTS' });
    }
    expect((await bClients.points.getUserPoints({ openId })).points).to.equal('110');
    const debits = (await b.app.db.knex('points_changes').where({ open_id: openId, direction: 2 }).count({ n: '*' }).first()) as { n: number | string };
    expect(Number(debits.n)).to.equal(0);
    expect((await bClients.points.getPrize({ prizeId })).prize?.stock).to.equal('5');
    // Paying later takes a new request id.
    expect((await bClients.points.changePoints({ ...debit, requestId: `${openId}-debit-2` })).record?.balanceAfter).to.equal('60');
    expect((await bClients.points.exchangePrize({ ...exchange, requestId: `${openId}-exchange-2` })).balanceAfter).to.equal('30');
  });
});
