/**
 * MariaDB killed mid-call (issue 16 item 2): a call whose outcome is unknown answers
 * UNAVAILABLE (or DEADLINE_EXCEEDED), never INTERNAL, and retrying it with the same key once the
 * database is back applies it exactly once.
 */
import { expect } from 'chai';
import { GrpcStatus, HuodongError } from '@huodong/clients';
import { startTestApp, type TestApp } from '../../support/app.js';
import { startPrivateMariadb, type PrivateMariadb } from '../../support/mariadb.js';
import { expectLedgerBalanced } from '../member/helpers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('MariaDB killed mid-call (a MariaDB of the test\'s own)', function () {
  this.timeout(300_000);
  let db: PrivateMariadb | undefined;
  let t: TestApp | undefined;
  before(async () => {
    db = await startPrivateMariadb();
    t = await startTestApp('mysql+redlock', { mysqlUrl: db.url });
  });
  after(async () => {
    await t?.stop().catch(() => undefined);
    await db?.destroy();
  });

  it('answers UNAVAILABLE, never INTERNAL, and a retry with the same order id pays each order once', async () => {
    const app = t as TestApp;
    const own = db as PrivateMariadb;
    const m = app.clients.member;
    const users = ['kill-a', 'kill-b', 'kill-c', 'kill-d'];
    for (const uid of users) await m.adminAddCpoint({ requestId: `fund-${uid}`, uid, cpoint: '1000.00', adminId: 'ops' });
    // A task too: SubmitTask is a knex transaction of many statements, where a connection dies
    // between statements (the payment is one stored-procedure CALL).
    await m.updateTaskConfig({
      task: { id: 9200, op: 'kill-task', name: 'kill', desc: '', score: '1', cpoint: '0', stepScore: '', stepCpoint: '', status: 0, sGrade: -1, eGrade: -1, batch: 1, repeat: 1, rFlag: 0, rRatio: 0, rCount: -1, rCpoint: '-1', rScore: '-1', rFilter: 0, rStep: 0, sTime: undefined, eTime: undefined, uTime: undefined },
    });

    const orders = Array.from({ length: 400 }, (_, i) => ({ orderId: `kill-${i}`, uid: users[i % users.length] as string, cpoint: '1.00' }));
    const codes = new Map<string, string>();
    let next = 0;
    let killed = false;
    const worker = async (): Promise<void> => {
      while (next < orders.length) {
        const order = orders[next++] as (typeof orders)[number];
        try {
          await m.consumeCpoint(order, { deadlineMs: 8_000 });
          codes.set(order.orderId, 'OK');
          await m.submitTask({ requestId: `t-${order.orderId}`, uid: order.uid, op: 'kill-task' }, { deadlineMs: 8_000 });
          codes.set(`t-${order.orderId}`, 'OK');
        } catch (err) {
          const code = err instanceof HuodongError ? GrpcStatus[err.code] ?? String(err.code) : String(err);
          codes.set(codes.has(order.orderId) ? `t-${order.orderId}` : order.orderId, code);
        }
        if (killed) await sleep(20);
      }
    };
    const load = Promise.all(Array.from({ length: 12 }, worker));
    while (codes.size < 60) await sleep(5);
    await own.kill();
    killed = true;
    const atKill = codes.size;
    while (codes.size < atKill + 60 && next < orders.length) await sleep(20);
    await own.start();
    await load;

    const seen = new Set(codes.values());
    expect([...seen].filter((c) => c !== 'OK' && c !== 'UNAVAILABLE' && c !== 'DEADLINE_EXCEEDED'), `codes seen: ${[...seen].join(', ')}`).to.deep.equal([]);
    expect([...codes.values()].filter((c) => c === 'UNAVAILABLE').length, 'calls met the dead database').to.be.greaterThan(0);

    // Unknown outcomes: retried with the same key, as the docs tell callers to.
    for (const order of orders) {
      if (codes.get(order.orderId) === 'OK') continue;
      codes.delete(`t-${order.orderId}`);
      for (let attempt = 0; ; attempt += 1) {
        try {
          await m.consumeCpoint(order);
          break;
        } catch (err) {
          if (!(err instanceof HuodongError) || attempt > 100) throw err;
          expect(GrpcStatus[err.code]).to.not.equal('INTERNAL');
          await sleep(100);
        }
      }
    }
    const knex = app.app.db.knex;
    const tasks = (await knex('member_journal').where('kind', 'task').count({ n: '*' }).first()) as { n: number | string };
    expect(Number(tasks.n), 'one task award per submission that answered OK or was never retried').to.be.at.most(orders.length);
    const perOrder = (await knex('member_journal').where('kind', 'consume').select('ref').count({ n: '*' }).groupBy('ref')) as Array<{ ref: string; n: number | string }>;
    expect(perOrder.filter((r) => Number(r.n) !== 1), 'orders paid more than once').to.deep.equal([]);
    for (const uid of users) {
      const balance = await expectLedgerBalanced(app, uid);
      expect(balance, uid).to.equal(100_000 - 100 * 100);
    }
  });
});
