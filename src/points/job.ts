/**
 * The daily job (seed 002's 00:00 timed task) and the in-server scheduler that runs it.
 * A job run row per day records finished steps and counts, so a second run of the day does
 * nothing and an interrupted one carries on where it stopped.
 */
import type { Clock } from '../platform/clock.js';
import { LockBusyError } from '../platform/errors.js';
import type { Locks } from '../platform/locks.js';
import type { Logger } from '../platform/logger.js';
import type { Worker } from '../platform/area.js';
import { errors } from './errors.js';
import { cycleKey, formatDate, localDate } from './rules.js';
import { big, ruleOfTask, type ExpiryCursor, type PointsStore } from './store.js';

export interface JobResult {
  readonly runDate: string;
  readonly finished: boolean;
  readonly alreadyFinished: boolean;
  /**
   * The job was still at work when the caller had to be answered (runWithin): it goes on,
   * here or in the instance holding the lock, and the counts are the day's so far.
   */
  readonly running: boolean;
  readonly expiredLots: bigint;
  readonly expiredPoints: bigint;
  readonly resetTasks: bigint;
}

/** Lots per expiry transaction: large enough for set-based statements, small enough to keep locks short. */
const CHUNK = 1_000;
/** Chunks written at once: one core's worth of SQL while the walk and the other chunk run. */
const PARALLEL_CHUNKS = 2;

/**
 * Every run takes this lock: each instance's scheduler, RunDailyJob and the bridge's timedTask.
 * Overlapping runs would stay correct (each chunk expires its lots in a conditional
 * transaction, under a unique dedupe key per lot) but would split the day's counts between
 * them and do the work twice. A run renews the lock while it works, so a run longer than the
 * TTL keeps it; the TTL only bounds how long a holder that died keeps the others out.
 */
const LOCK_KEY = 'points:daily-job';
/** How long the lock outlives a holder that died (Redlock; the local lock has no expiry). */
const LOCK_TTL_MS = 60_000;
/** RunDailyJob answers this long before the caller's deadline when the job is still at work. */
export const ANSWER_MARGIN_MS = 500;

/**
 * How a run meets another one holding the lock. The scheduler gives up at once and looks again
 * on its next tick. A manual run waits, as long as a holder keeps the lock at most, and then
 * runs: the seed's cron calls timedTask at 00:00, when the schedulers start too, and should get
 * its answer (usually `already_finished`), not a refusal.
 */
export type LockWait = 'scheduled' | 'manual';

export interface DailyJobOptions {
  /** Lots per expiry transaction (default 1,000; at most 2,000). */
  readonly chunkSize?: number;
  /** The lock's TTL (default 60 s); a run renews it every third of that. */
  readonly lockTtlMs?: number;
  /** Where runs that went on after their caller was answered report their end or failure. */
  readonly logger?: Logger;
  /** Called before each expiry chunk (tests slow the job down with it). */
  readonly beforeChunk?: () => Promise<void>;
  /** Told of every run (scheduled or manual) with its duration: the job's metrics. */
  readonly onRun?: (result: JobResult, seconds: number) => void;
}

export interface DailyJobDeps extends DailyJobOptions {
  readonly store: PointsStore;
  readonly clock: Clock;
  readonly locks: Locks;
  /** The zone whose midnight starts a new day (HUODONG_TIME_ZONE). */
  readonly timeZone: string;
}

export class DailyJob {
  private readonly store: PointsStore;
  private readonly clock: Clock;
  private readonly timeZone: string;
  private readonly locks: Locks;
  private readonly options: DailyJobOptions;
  private readonly chunkSize: number;
  private readonly lockTtlMs: number;

  constructor(deps: DailyJobDeps) {
    this.store = deps.store;
    this.clock = deps.clock;
    this.timeZone = deps.timeZone;
    this.locks = deps.locks;
    this.options = deps;
    this.chunkSize = Math.min(2_000, Math.max(1, deps.chunkSize ?? CHUNK));
    this.lockTtlMs = deps.lockTtlMs ?? LOCK_TTL_MS;
  }

  /** Runs today's job under the lock shared by every run; LockBusyError if it could not be had. */
  runLocked(wait: LockWait, batchLimit = 0, waitMs?: number): Promise<JobResult> {
    return this.locks.withLock(LOCK_KEY, () => this.observed(Math.max(0, batchLimit)), {
      busy: errors.lockBusy,
      ttlMs: this.lockTtlMs,
      waitMs: waitMs ?? (wait === 'manual' ? this.lockTtlMs : 0),
      keepAlive: true,
    });
  }

  private async observed(batchLimit: number): Promise<JobResult> {
    const started = performance.now();
    const result = await this.run(batchLimit);
    this.options.onRun?.(result, (performance.now() - started) / 1000);
    return result;
  }

  /**
   * A manual run that answers by `answerAt` (epoch ms; Infinity waits for the end): the day's
   * result if the job ends by then, else `running` with the day's counts so far while the job
   * goes on (this call's run, or the one another instance holds the lock for). Callers across
   * a network answer before their deadline this way instead of timing out on a job that
   * outlives it (a day of a million users takes minutes).
   */
  async runWithin(batchLimit: number, answerAt: number): Promise<JobResult> {
    if (!Number.isFinite(answerAt)) return this.runLocked('manual', batchLimit);
    const budget = Math.max(0, answerAt - Date.now());
    const run = this.runLocked('manual', batchLimit, budget);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), budget);
    });
    let first: JobResult | 'late';
    try {
      first = await Promise.race([run, late]);
    } catch (err) {
      if (err instanceof LockBusyError) return this.progress(); // another run held the lock throughout
      throw err;
    } finally {
      clearTimeout(timer);
    }
    if (first !== 'late') return first;
    void run.then(
      (r) => this.options.logger?.info({ runDate: r.runDate, expiredLots: String(r.expiredLots), finished: r.finished }, 'points daily job (answered as running)'),
      (err: unknown) => {
        if (!(err instanceof LockBusyError)) this.options.logger?.error({ err }, 'points daily job failed after its caller was answered');
      },
    );
    return this.progress();
  }

  /** The day's counts so far: `running`, or finished when the day is done (the holder was on another). */
  private async progress(): Promise<JobResult> {
    const runDate = formatDate(localDate(this.clock.now(), this.timeZone));
    const row = await this.store.getJobRun(runDate);
    const finished = row?.finished_at !== null && row?.finished_at !== undefined;
    return {
      runDate,
      finished,
      alreadyFinished: finished,
      running: !finished,
      expiredLots: big(row?.expired_lots),
      expiredPoints: big(row?.expired_points),
      resetTasks: big(row?.reset_tasks),
    };
  }

  /**
   * Runs today's job without the lock (callers take it through runLocked); `batchLimit` > 0
   * stops after that many lots, leaving the day unfinished.
   */
  async run(batchLimit = 0): Promise<JobResult> {
    const at = this.clock.now();
    const now = at.getTime();
    const runDate = formatDate(localDate(at, this.timeZone));
    const run = await this.store.startJobRun(runDate, now);
    const result = (finished: boolean, alreadyFinished: boolean, lots: bigint, points: bigint, tasks: bigint): JobResult => ({
      runDate,
      finished,
      alreadyFinished,
      running: false,
      expiredLots: lots,
      expiredPoints: points,
      resetTasks: tasks,
    });
    if (run.finished_at !== null) return result(true, true, 0n, 0n, 0n);
    const worked = async (): Promise<void> => this.store.addJobDuration(runDate, this.clock.now().getTime() - now);

    let lots = 0n;
    let points = 0n;
    if (!run.expire_done) {
      // The walk reads ahead while up to PARALLEL_CHUNKS chunks are written: their users are
      // disjoint or meet on the account row lock, and every chunk stands on its own.
      let cursor: ExpiryCursor | undefined;
      let walked = 0;
      const writing: Array<Promise<{ lots: number; points: bigint }>> = [];
      const settle = async (): Promise<void> => {
        const done = await writing.shift();
        if (done === undefined) return;
        lots += BigInt(done.lots);
        points += done.points;
      };
      try {
        for (;;) {
          const room = batchLimit > 0 ? batchLimit - walked : this.chunkSize;
          if (room <= 0) break;
          await this.options.beforeChunk?.();
          const next = await this.store.walkDue(now, cursor, Math.min(room, this.chunkSize));
          if (next.due.length === 0) break;
          cursor = next.cursor;
          walked += next.due.length;
          const chunk = this.store.expireLots(now, runDate, next.due);
          chunk.catch(() => undefined); // awaited below, in order
          writing.push(chunk);
          if (writing.length >= PARALLEL_CHUNKS) await settle();
        }
        while (writing.length > 0) await settle();
      } finally {
        // A chunk failed: let the others end before the error goes up (none left floating).
        await Promise.allSettled(writing);
      }
      if (batchLimit > 0 && walked >= batchLimit) {
        await worked();
        return result(false, false, lots, points, 0n);
      }
      await this.store.markJob(runDate, { expire_done: true });
    }

    let tasks = 0n;
    if (!run.tasks_done) {
      for (const task of await this.store.cyclicTasks()) {
        tasks += big(await this.store.resetTaskCycle(task.task_id, cycleKey(ruleOfTask(task), at, this.timeZone), now, runDate));
      }
      await this.store.markJob(runDate, { tasks_done: true });
    }
    // Exchange limits need no step: a limit is a (user, prize, period) unique key, and the
    // period of "now" is computed at each exchange, so a new day/week/month frees it by itself.
    await worked();
    await this.store.markJob(runDate, { finished_at: this.clock.now().getTime() });
    return result(true, false, lots, points, tasks);
  }
}

export interface SchedulerOptions {
  /** How often to look at the clock; the job runs on the first tick of each new day. */
  readonly tickMs?: number;
}

/**
 * Runs the daily job when the zone's date changes while the server is up. The lock keeps
 * several instances (and manual runs) from running it at once; the job run row keeps it once
 * per day anyway. A day missed while every instance was down is covered by the next run (it
 * expires everything due and resets every stale cycle) or by RunDailyJob.
 */
export interface SchedulerDeps extends SchedulerOptions {
  readonly job: DailyJob;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The zone whose date change starts the job (HUODONG_TIME_ZONE). */
  readonly timeZone: string;
}

export class DailyJobScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lastDate: string;

  constructor(private readonly deps: SchedulerDeps) {
    this.lastDate = this.today();
  }

  private today(): string {
    return formatDate(localDate(this.deps.clock.now(), this.deps.timeZone));
  }

  start(): Worker {
    this.timer = setInterval(() => this.tick(), this.deps.tickMs ?? 30_000);
    this.timer.unref();
    return {
      stop: async () => {
        clearInterval(this.timer);
        this.timer = undefined;
        await this.running;
      },
    };
  }

  /** One look at the clock; exposed so tests need not wait for the interval. */
  tick(): Promise<void> {
    if (this.running !== undefined) return this.running;
    const today = this.today();
    if (today === this.lastDate) return Promise.resolve();
    this.running = this.deps.job
      .runLocked('scheduled')
      .then(
        (r) => {
          this.lastDate = today;
          this.deps.logger.info({ runDate: r.runDate, expiredLots: String(r.expiredLots), resetTasks: String(r.resetTasks) }, 'points daily job');
        },
        (err: unknown) => {
          // The holder may be another instance on today's job, or a manual run of yesterday's
          // (started before midnight) or of part of today's (batch_limit): look again on the
          // next tick, which costs one read once the day is done.
          if (err instanceof LockBusyError) this.deps.logger.debug('points daily job: the lock is taken; looking again on the next tick');
          else this.deps.logger.error({ err }, 'points daily job failed; retrying on the next tick');
        },
      )
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }
}
