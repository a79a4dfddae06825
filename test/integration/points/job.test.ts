/**
 * The daily job, the scheduler and an injected failure inside the exchange transaction, run
 * against the store directly (MariaDB + Redlock and SQLite + local locks).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { isUniqueViolation, migrate, openDatabase, type Database } from '../../../src/platform/db.js';
import { LockBusyError } from '../../../src/platform/errors.js';
import { createLocalLocks, createRedlockLocks, type Locks } from '../../../src/platform/locks.js';
import { createLogger } from '../../../src/platform/logger.js';
import { DailyJob, DailyJobScheduler, type JobResult } from '../../../src/points/job.js';
import { migrations } from '../../../src/points/migrations.js';
import { PointsService } from '../../../src/points/service.js';
import { PointsStore, type StoreFaults } from '../../../src/points/store.js';
import { STORE_KINDS, freshMysqlDatabase } from '../../support/app.js';
import { FakeClock } from '../../support/clock.js';
import { checkLedger, sh, unique } from './helpers.js';

const TZ = 'Asia/Shanghai';
/** The owner of the request ids these tests use (platform/owner.ts): an app id. */
const OWNER = 'job-test-app';

/** The real job, counting how often its body is entered, how many ran at once, and how many did a day's work. */
class CountingJob extends DailyJob {
  entered = 0;
  mostAtOnce = 0;
  didTheDay = 0;
  private inside = 0;

  override async run(batchLimit = 0): Promise<JobResult> {
    this.entered += 1;
    this.inside += 1;
    this.mostAtOnce = Math.max(this.mostAtOnce, this.inside);
    try {
      const result = await super.run(batchLimit);
      if (!result.alreadyFinished) this.didTheDay += 1;
      return result;
    } finally {
      this.inside -= 1;
    }
  }
}

async function snapshot(knex: Knex, openId: string): Promise<unknown[]> {
  const rows: unknown[] = [];
  for (const table of ['points_accounts', 'points_changes', 'points_lots', 'points_exchanges']) {
    rows.push(await knex(table).where('open_id', openId).orderBy(table === 'points_accounts' ? 'open_id' : 'id'));
  }
  rows.push(await knex('points_draws').orderBy(['record_id', 'lot_id']));
  rows.push(await knex('points_prizes').orderBy('prize_id'));
  return rows;
}

for (const store of STORE_KINDS) {
  describe(`points daily job and faults [${store}]`, function () {
    let db: Database;
    let locks: Locks;
    const cleanups: Array<() => Promise<void> | void> = [];
    const clock = new FakeClock(sh('2026-03-10T10:00:00'));
    const faults: StoreFaults = {};
    let pointsStore: PointsStore;
    let service: PointsService;
    let job: DailyJob;

    before(async function () {
      if (store === 'mysql+redlock') {
        const fresh = await freshMysqlDatabase();
        cleanups.push(() => fresh.drop());
        db = openDatabase({ mysqlUrl: fresh.url, dataDir: '' });
        locks = createRedlockLocks([process.env.REDIS_URL ?? '']);
      } else {
        const dir = mkdtempSync(join(tmpdir(), 'points-job-'));
        cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
        db = openDatabase({ mysqlUrl: undefined, dataDir: dir });
        locks = createLocalLocks();
      }
      await migrate(db, migrations);
      pointsStore = new PointsStore(db, faults);
      service = new PointsService({ store: pointsStore, clock, locks, timeZone: TZ });
      job = new DailyJob({ store: pointsStore, clock, locks, timeZone: TZ });
    });

    after(async function () {
      await locks.close();
      await db.knex.destroy();
      for (const c of cleanups.reverse()) await c();
    });

    const change = (openId: string, direction: 'credit' | 'debit', faceValue: number, source: 'task' | 'other' = 'task') =>
      service.changePoints({ requestId: unique('r'), openId, direction, faceValue: String(faceValue), source, changeId: '', description: '', prizeType: undefined }, OWNER);

    /** A once-only prize of 100 points, stock 3. */
    const oncePrize = (title: string, type: 'goods' | 'virtualGoods') =>
      service.savePrize({ prizeId: unique('p'), faceValue: '100', title, description: '', icon: '', total: '3', type, exchangeLimit: 'once', disabled: false });

    /** A user holding two lots (task and other) of `task + other` points in all. */
    const fundedUser = async (tag: string, task: number, other: number): Promise<string> => {
      clock.set(sh('2026-03-10T10:00:00'));
      const user = unique(tag);
      await change(user, 'credit', task, 'task');
      await change(user, 'credit', other, 'other');
      return user;
    };

    // The fault hook sits between two statements of the SQLite path; on MySQL the exchange is one
    // procedure call, whose rollback the next test proves by failing its last statement.
    if (store === 'sqlite+local') {
      it('a failure injected after the debit and the stock update leaves points, stock and records as they were', async () => {
        const user = await fundedUser('fault', 80, 50);
        const prize = await oncePrize('Tea', 'goods');
        const before = await snapshot(db.knex, user);
        faults.afterStockTaken = () => {
          throw new Error('injected: the database went away after the stock update');
        };
        try {
          const attempt = service.exchangePrize({ requestId: unique('x'), openId: user, prizeId: prize.prizeId, address: 'a', userName: 'b', tel: '1' }, OWNER);
          let failed = false;
          await attempt.catch((err: unknown) => {
            failed = (err as Error).message.startsWith('injected');
          });
          expect(failed, 'the exchange must fail with the injected error').to.equal(true);
        } finally {
          delete faults.afterStockTaken;
        }
        expect(await snapshot(db.knex, user)).to.deep.equal(before);
        // and without the fault the same exchange goes through
        const ok = await service.exchangePrize({ requestId: unique('x'), openId: user, prizeId: prize.prizeId, address: 'a', userName: 'b', tel: '1' }, OWNER);
        expect(String(ok.record.balanceAfter)).to.equal('30');
        await checkLedger(db.knex, user);
      });
    }

    it('an exchange whose last statement fails leaves points, stock and records as they were', async () => {
      // No fault hook here: on MySQL this runs the points_debit procedure. A planted exchange row
      // holds the request id (but no change record, and another period), so every check passes
      // and the exchange row, the last statement after the debit, lots, draws and stock, fails.
      const user = await fundedUser('last', 60, 50);
      const prize = await oncePrize('Cup', 'virtualGoods');
      const stored = await pointsStore.getPrize(prize.prizeId);
      if (stored === undefined) throw new Error('prize not stored');
      const requestId = unique('x');
      await db.knex('points_exchanges').insert({
        owner: OWNER,
        open_id: user,
        prize_id: prize.prizeId,
        request_id: requestId,
        request_hash: '',
        record_id: -1,
        period_key: 'planted',
        title: '',
        icon: '',
        face_value: 0,
        type: 'virtualGoods',
        address: '',
        user_name: '',
        tel: '',
        created_at: 0,
      });
      const before = await snapshot(db.knex, user);
      const debit = { owner: OWNER, openId: user, amount: 100n, now: clock.now().getTime(), source: 'exchange' as const, changeId: prize.prizeId, description: '', prizeType: 'virtualGoods' as const, requestId, requestHash: 'h' };
      let error: unknown;
      await pointsStore
        .exchange({ debit, prize: stored, periodKey: 'once', requestId, requestHash: 'h', address: '', userName: '', tel: '' })
        .catch((err: unknown) => {
          error = err;
        });
      expect(isUniqueViolation(error), `a unique violation, got ${String(error)}`).to.equal(true);
      expect(await snapshot(db.knex, user)).to.deep.equal(before);
      await checkLedger(db.knex, user);
    });

    it('expires due lots once, resumes after an interruption, and does nothing on a second run', async () => {
      clock.set(sh('2026-04-01T08:00:00'));
      const users = Array.from({ length: 4 }, () => unique('exp'));
      for (const u of users) {
        await change(u, 'credit', 30, 'task'); // expires 2027-04-01 08:00
        await change(u, 'credit', 20, 'task');
        await change(u, 'credit', 5, 'other'); // never
        await change(u, 'debit', 40, 'other'); // takes 30 from the first lot, 10 from the second
      }
      clock.set(sh('2027-04-02T00:00:00'));
      const partial = await job.run(3);
      expect(partial.finished).to.equal(false);
      expect(partial.expiredLots).to.equal(3n);
      const full = await job.run();
      expect(full.finished).to.equal(true);
      expect(full.alreadyFinished).to.equal(false);
      const run = await pointsStore.getJobRun('2027-04-02');
      expect(Number(run?.expired_lots)).to.be.at.least(4);
      const expired = (await db.knex('points_changes').whereIn('open_id', users).where('source', 'expiredTask')) as Array<{ face_value: unknown; dedupe_key: string }>;
      expect(expired).to.have.lengthOf(4);
      expect(expired.every((r) => Number(r.face_value) === 10)).to.equal(true);
      for (const u of users) {
        const { balance } = await checkLedger(db.knex, u);
        expect(balance).to.equal(5);
        expect(await pointsStore.balance(u, clock.now().getTime())).to.equal(5n);
      }
      const counted = await db.knex('points_changes').count({ c: '*' }).first();
      const again = await job.run();
      expect(again.alreadyFinished).to.equal(true);
      expect(await db.knex('points_changes').count({ c: '*' }).first()).to.deep.equal(counted);
    });

    it('the bulk job expires in chunks with the records, draws and balances of one lot at a time, resumably', async () => {
      clock.set(sh('2026-08-01T08:00:00'));
      const users = Array.from({ length: 23 }, () => unique('bulk'));
      // Per user: lots of 10, 20 and 30 (task: expire in a year), one of 7 that never expires,
      // then a debit of `k % 4 * 9` drawing from the soonest (the 10-lot) onwards; users 0 mod 5
      // spend everything that expires. A later lot of 40 expires after the run's instant.
      const origins = new Map<string, string>();
      for (const [k, u] of users.entries()) {
        for (const amount of [10, 20, 30]) {
          const r = await service.changePoints({ requestId: unique('r'), openId: u, direction: 'credit', faceValue: String(amount), source: 'task', changeId: `origin-${k}-${amount}`, description: '', prizeType: undefined }, OWNER);
          origins.set(String(r.record.id), `origin-${k}-${amount}`);
        }
        await change(u, 'credit', 7, 'other');
        const spend = k % 5 === 0 ? 60 : (k % 4) * 9;
        if (spend > 0) await change(u, 'debit', spend, 'other');
      }
      clock.set(sh('2026-09-01T08:00:00'));
      for (const u of users) await change(u, 'credit', 40, 'task');
      const before = (await db.knex('points_lots')
        .whereIn('open_id', users)
        .where('remaining', '>', 0)
        .where('expires_at', '<=', sh('2027-08-20T00:00:00').getTime())) as Array<{ id: number; open_id: string; remaining: unknown; record_id: unknown }>;
      const dueTotal = before.reduce((sum, l) => sum + Number(l.remaining), 0);

      clock.set(sh('2027-08-20T00:00:00'));
      const steps = { n: 0 };
      // A small chunk, so users' lots straddle chunks; each chunk moves the clock 1 s on.
      const bulk = new DailyJob({ store: pointsStore, clock, locks, timeZone: TZ, chunkSize: 7, beforeChunk: async () => { steps.n += 1; clock.advance(1_000); } });
      const first = await bulk.run(10);
      expect([first.finished, first.expiredLots]).to.deep.equal([false, 10n]);
      const rest = await bulk.run();
      expect(rest.finished).to.equal(true);
      expect(Number(first.expiredLots + rest.expiredLots)).to.equal(before.length);
      expect(Number(first.expiredPoints + rest.expiredPoints)).to.equal(dueTotal);
      expect(steps.n).to.be.at.least(Math.ceil(before.length / 7));

      const expired = (await db.knex('points_changes').whereIn('open_id', users).where('source', 'expiredTask').orderBy('id')) as Array<Record<string, unknown>>;
      expect(expired).to.have.lengthOf(before.length);
      for (const lot of before) {
        const record = expired.find((r) => r.dedupe_key === `expire:${String(lot.id)}`);
        expect(record, `the record of lot ${lot.id}`).to.not.equal(undefined);
        if (record === undefined) continue;
        expect(Number(record.face_value)).to.equal(Number(lot.remaining));
        expect([Number(record.direction), record.open_id, record.change_id]).to.deep.equal([2, lot.open_id, origins.get(String(lot.record_id))]);
        // After the expiry the user holds the never-expiring 7 and the later 40.
        expect(Number(record.balance_after)).to.equal(47);
        const draws = (await db.knex('points_draws').where('record_id', record.id as number)) as Array<{ lot_id: unknown; amount: unknown }>;
        expect(draws.map((d) => [Number(d.lot_id), Number(d.amount)])).to.deep.equal([[Number(lot.id), Number(lot.remaining)]]);
      }
      for (const u of users) {
        const { balance } = await checkLedger(db.knex, u);
        expect(balance).to.equal(47);
        expect(await pointsStore.balance(u, clock.now().getTime())).to.equal(47n);
      }
      const run = await pointsStore.getJobRun('2027-08-20');
      expect(Number(run?.expired_lots)).to.be.at.least(before.length);
      // finished_at is the end of the run, not its start; the duration is the calls' working time.
      expect(Number(run?.finished_at)).to.be.greaterThan(Number(run?.started_at));
      expect(Number(run?.duration_ms)).to.be.at.least(steps.n * 1_000);
      const counted = await db.knex('points_changes').count({ c: '*' }).first();
      expect((await bulk.run()).alreadyFinished).to.equal(true);
      expect(await db.knex('points_changes').count({ c: '*' }).first()).to.deep.equal(counted);
    });

    it('a caller with a deadline gets `running` while a long job goes on, and the day\'s result afterwards', async () => {
      clock.set(sh('2026-10-01T10:00:00'));
      for (let i = 0; i < 12; i += 1) await change(unique('slow'), 'credit', 10, 'task');
      clock.set(sh('2027-10-02T00:00:00'));
      const slow = new DailyJob({ store: pointsStore, clock, locks, timeZone: TZ, chunkSize: 2, beforeChunk: () => new Promise((r) => setTimeout(r, 120)) });
      const started = Date.now();
      const answer = await slow.runWithin(0, Date.now() + 400);
      expect(Date.now() - started, 'answered by its time').to.be.below(1_000);
      expect([answer.runDate, answer.running, answer.finished]).to.deep.equal(['2027-10-02', true, false]);
      // A second caller waits for the lock the first run holds, then finds the day done.
      const later = await slow.runWithin(0, Date.now() + 20_000);
      expect([later.running, later.finished, later.alreadyFinished]).to.deep.equal([false, true, true]);
      expect(Number((await pointsStore.getJobRun('2027-10-02'))?.expired_lots)).to.be.at.least(12);
    });

    if (store === 'mysql+redlock') {
      it('a run longer than the lock TTL keeps its lock: a second instance does not run the day meanwhile', async () => {
        clock.set(sh('2026-11-01T10:00:00'));
        for (let i = 0; i < 30; i += 1) await change(unique('long'), 'credit', 10, 'task');
        clock.set(sh('2027-11-02T00:00:00'));
        const inside = { now: 0, most: 0 };
        const slowChunk = async (): Promise<void> => {
          await new Promise((r) => setTimeout(r, 150));
        };
        // Two instances: their own Redis connections and job objects on the same database.
        const otherLocks = createRedlockLocks([process.env.REDIS_URL ?? '']);
        class Watched extends DailyJob {
          override async run(batchLimit = 0): Promise<JobResult> {
            inside.now += 1;
            inside.most = Math.max(inside.most, inside.now);
            try {
              return await super.run(batchLimit);
            } finally {
              inside.now -= 1;
            }
          }
        }
        const a = new Watched({ store: pointsStore, clock, locks, timeZone: TZ, chunkSize: 2, lockTtlMs: 600, beforeChunk: slowChunk });
        const b = new Watched({ store: pointsStore, clock, locks: otherLocks, timeZone: TZ, chunkSize: 2, lockTtlMs: 600, beforeChunk: slowChunk });
        try {
          const first = a.runLocked('scheduled');
          await new Promise((r) => setTimeout(r, 1_200)); // twice the TTL; a still has chunks to go
          let refused: unknown;
          const second = await b.runLocked('scheduled').catch((err: unknown) => {
            refused = err;
            return undefined;
          });
          const done = await first;
          expect(done.finished).to.equal(true);
          expect(refused, `the second instance must find the lock held, it ran: ${JSON.stringify(second, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`).to.be.instanceOf(LockBusyError);
          expect(inside.most, 'instances in the job at once').to.equal(1);
        } finally {
          await otherLocks.close();
        }
      });
    }

    it('resets cyclic task progress when the cycle turns, including month-day 31 in April', async () => {
      clock.set(sh('2026-03-31T09:00:00'));
      const daily = await service.saveTask({
        taskId: unique('daily'), type: 'cyclicTask', cycleTitle: '', cycleType: 'day', cycleDay: 0, title: 'd', description: '',
        btnTitle: '', btnType: 'customize', path: '', imgUrl: '', faceValue: '1', total: '2', model: 'progress',
      });
      const d31 = await service.saveTask({
        taskId: unique('d31'), type: 'cyclicTask', cycleTitle: '', cycleType: 'monthDay', cycleDay: 31, title: 'm', description: '',
        btnTitle: '', btnType: 'customize', path: '', imgUrl: '', faceValue: '1', total: '2', model: 'progress',
      });
      const user = unique('cyc');
      for (const t of [daily, d31]) await service.setUserTaskStatus({ openId: user, taskId: t.taskId, completeNum: '1', status: 1 });
      const progress = async (): Promise<Record<string, number>> => {
        const rows = (await db.knex('points_user_tasks').where('open_id', user)) as Array<{ task_id: string; complete_num: unknown }>;
        return Object.fromEntries(rows.map((r) => [r.task_id === daily.taskId ? 'daily' : 'd31', Number(r.complete_num)]));
      };
      clock.set(sh('2026-04-30T00:00:00')); // the daily cycle turned, the 31st-cycle (started 31 March) did not
      await job.run();
      expect(await progress()).to.deep.equal({ daily: 0, d31: 1 });
      await service.setUserTaskStatus({ openId: user, taskId: daily.taskId, completeNum: '1', status: 1 });
      clock.set(sh('2026-05-01T00:00:00')); // April has no 31st: both turn on 1 May
      await job.run();
      expect(await progress()).to.deep.equal({ daily: 0, d31: 0 });
      const rerun = await job.run();
      expect([rerun.alreadyFinished, rerun.resetTasks]).to.deep.equal([true, 0n]);
    });

    it('the scheduler runs the job once when the day turns, on one instance only, and stops cleanly', async () => {
      clock.set(sh('2026-06-01T23:59:00'));
      const counted = new CountingJob({ store: pointsStore, clock, locks, timeZone: TZ });
      const logger = createLogger('silent');
      const a = new DailyJobScheduler({ job: counted, clock, logger, timeZone: TZ, tickMs: 60_000 });
      const b = new DailyJobScheduler({ job: counted, clock, logger, timeZone: TZ, tickMs: 60_000 });
      const workers = [a.start(), b.start()];
      await Promise.all([a.tick(), b.tick()]);
      expect(counted.entered).to.equal(0);
      expect(await pointsStore.getJobRun('2026-06-02')).to.equal(undefined);
      clock.set(sh('2026-06-02T00:00:01'));
      await Promise.all([a.tick(), b.tick()]);
      const run = await pointsStore.getJobRun('2026-06-02');
      expect(run?.finished_at).to.not.equal(null);
      // Both instances tick at once; the lock lets one into the job's body, and only one does the day.
      expect(counted.mostAtOnce, 'instances in the job at once').to.equal(1);
      expect(counted.didTheDay).to.equal(1);
      // The one that found the lock taken looks again on its next tick and finds the day done.
      await Promise.all([a.tick(), b.tick()]);
      await Promise.all([a.tick(), b.tick()]);
      expect(await pointsStore.getJobRun('2026-06-02')).to.deep.equal(run);
      expect([counted.mostAtOnce, counted.didTheDay]).to.deep.equal([1, 1]);
      expect(counted.entered).to.be.at.most(2);
      await Promise.all(workers.map((w) => w.stop()));
    });

    it('manual runs (RunDailyJob, timedTask) take the scheduler\'s lock: a second one waits, then finds the day done', async () => {
      clock.set(sh('2026-07-01T10:00:00'));
      for (let i = 0; i < 10; i += 1) await change(unique('manual'), 'credit', 10, 'task');
      clock.set(sh('2027-07-02T00:00:00'));
      const counted = new CountingJob({ store: pointsStore, clock, locks, timeZone: TZ });
      const scheduler = new DailyJobScheduler({ job: counted, clock, logger: createLogger('silent'), timeZone: TZ, tickMs: 60_000 });
      const runs = await Promise.all([counted.runLocked('manual'), counted.runLocked('manual')]);
      expect(counted.mostAtOnce, 'runs in the job at once').to.equal(1);
      expect(runs.map((r) => r.alreadyFinished).sort()).to.deep.equal([false, true]);
      expect(Number(runs.find((r) => !r.alreadyFinished)?.expiredLots)).to.be.at.least(10);
      // a manual run racing the scheduler waits for it too
      clock.set(sh('2027-07-03T00:00:00'));
      const [manual] = await Promise.all([counted.runLocked('manual'), scheduler.tick()]);
      expect(manual.runDate).to.equal('2027-07-03');
      expect([counted.mostAtOnce, counted.didTheDay]).to.deep.equal([1, 2]);
    });
  });
}
