/** The rules of the points centre; validation here, SQL in store.ts, calendar math in rules.ts. */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../platform/clock.js';
import { isUniqueViolation } from '../platform/db.js';
import { keysetPages } from '../platform/export.js';
import type { Locks } from '../platform/locks.js';
import {
  ConcurrentUpdateError,
  errors,
  ExchangeLimitReachedError,
  InsufficientPointsError,
  PrizeNotFoundError,
  PrizeSoldOutError,
  PrizeUnavailableError,
  StockBelowZeroError,
  TaskNotClaimableError,
  TaskNotFoundError,
} from './errors.js';
import {
  MAX_STOCK,
  TEXT_COLUMN_BYTES,
  cycleKey,
  expiryAfterDays,
  fingerprint,
  optionalText,
  periodKey,
  requireId,
  requireOpenId,
  requirePoints,
  requireRequestId,
  requireText,
  taskRewardExpiry,
} from './rules.js';
import type {
  ButtonKind,
  CycleKind,
  LimitKind,
  PointsChange,
  PointsExchange,
  PointsPrize,
  PointsTask,
  PrizeKind,
  PrizeStatusValue,
  RefusalReason,
  Source,
  TaskKind,
  TaskModel,
  TaskStatusValue,
} from './model.js';
import { big, type CreditInput, type PointsStore, type RefusalRow, RequestRecordedError } from './store.js';

export interface UserTaskView {
  readonly task: PointsTask;
  readonly currentTotal: bigint;
  /** Seed values: 0 to claim, 1 in progress, 2 done. */
  readonly status: TaskStatusValue;
}

export interface RuleView {
  readonly detail: string;
  readonly expiries: ReadonlyArray<{ source: Source; days: number }>;
  readonly updatedAt: number | undefined;
}

/** A change record as answered: for a credit, what is left of its lot now (legacy remainingIntegral). */
export interface RecordView {
  readonly record: PointsChange;
  /** Unspent and unexpired points of the credit's lot; undefined for a debit. */
  readonly remaining: bigint | undefined;
}

export interface ExchangeResult {
  readonly exchange: PointsExchange;
  readonly record: PointsChange;
}

export interface TaskInput {
  readonly taskId: string;
  readonly type: TaskKind | undefined;
  readonly cycleTitle: string;
  readonly cycleType: CycleKind | undefined;
  readonly cycleDay: number;
  readonly title: string;
  readonly description: string;
  readonly btnTitle: string;
  readonly btnType: ButtonKind | undefined;
  readonly path: string;
  readonly imgUrl: string;
  readonly faceValue: string;
  readonly total: string;
  readonly model: TaskModel | undefined;
}

export interface PrizeInput {
  readonly prizeId: string;
  readonly faceValue: string;
  readonly title: string;
  readonly description: string;
  readonly icon: string;
  readonly total: string;
  readonly type: PrizeKind | undefined;
  readonly exchangeLimit: LimitKind | undefined;
  readonly disabled: boolean;
}

export interface ChangePointsInput {
  readonly requestId: string;
  readonly openId: string;
  readonly direction: 'credit' | 'debit' | undefined;
  readonly faceValue: string;
  readonly source: Source | undefined;
  readonly changeId: string;
  readonly description: string;
  readonly prizeType: PrizeKind | undefined;
}

export const UPCOMING_EXPIRIES = 5;
const MAX_PAGE = 100;
const DEFAULT_PAGE = 20;
/** The database guards every points invariant, so a Redis outage costs contention, not calls. */
const LOCK = { busy: errors.lockBusy, ifUnavailable: 'proceed' } as const;

/** Why this prize cannot be exchanged (or sent) as asked, or undefined when it can. */
function exchangeRefusal(prize: PointsPrize, e: { sent: boolean; shipping: { address: string; userName: string; tel: string } }): Error | undefined {
  if (e.sent && prize.type !== 'virtualGoods') return errors.invalid('prize_id', 'must name a virtual prize');
  if (prize.type === 'goods') {
    if (e.shipping.address === '') return errors.invalid('shipping.address', 'is required for physical goods');
    if (e.shipping.userName === '') return errors.invalid('shipping.user_name', 'is required for physical goods');
    if (e.shipping.tel === '') return errors.invalid('shipping.tel', 'is required for physical goods');
  }
  if (prize.disabled) return new PrizeUnavailableError();
  return undefined;
}

/** A stored refusal becomes its error again: the request id's final answer (issue 16.1). */
function refusalError(r: RefusalRow): Error {
  const reason: RefusalReason = r.reason;
  switch (reason) {
    case 'insufficient':
      return new InsufficientPointsError(String(r.face_value));
    case 'sold_out':
      return new PrizeSoldOutError();
    case 'limit_reached':
      return new ExchangeLimitReachedError(r.period_key);
    case 'unavailable':
      return new PrizeUnavailableError();
  }
}

export interface PointsServiceDeps {
  readonly store: PointsStore;
  readonly clock: Clock;
  readonly locks: Locks;
  /** The zone of cycles, exchange-limit periods and expiries (HUODONG_TIME_ZONE). */
  readonly timeZone: string;
}

export class PointsService {
  constructor(private readonly deps: PointsServiceDeps) {}

  private now(): number {
    return this.deps.clock.now().getTime();
  }

  private userLock<T>(openId: string, fn: () => Promise<T>): Promise<T> {
    return this.deps.locks.withLock(`points:user:${openId}`, fn, LOCK);
  }

  /**
   * The first result of the owner's request id, or undefined; a different request under it is
   * refused. The first result of a refused request is its refusal, thrown again (issue 16.1:
   * final, so a stale copy never pays later). Request ids belong to the app that used them
   * (platform/owner.ts): another app's answer under the same id is never read, and rows of
   * before owners are never joined.
   */
  private async replay(owner: string, openId: string, requestId: string, hash: string): Promise<PointsChange | undefined> {
    const prior = await this.deps.store.findChangeByRequest(owner, openId, requestId);
    if (prior !== undefined) {
      if (prior.requestHash !== hash) throw errors.keyReused('request_id');
      return prior;
    }
    const refused = await this.deps.store.findRefusal(owner, openId, requestId);
    if (refused === undefined) return undefined;
    if (refused.request_hash !== hash) throw errors.keyReused('request_id');
    throw refusalError(refused);
  }

  // ---- C-end ------------------------------------------------------------------------------

  async getUserPoints(openIdRaw: string): Promise<{ points: bigint; expiries: Array<{ at: number; points: bigint }> }> {
    const openId = requireOpenId(openIdRaw);
    const { balance, expiries } = await this.deps.store.holdings(openId, this.now());
    return { points: balance, expiries: expiries.slice(0, UPCOMING_EXPIRIES) };
  }

  async listChangeRecords(
    openIdRaw: string,
    type: 'task' | 'exchange' | undefined,
    pageSize: number,
    pageToken: string,
  ): Promise<{ records: Array<RecordView & { exchange: PointsExchange | undefined }>; nextPageToken: string }> {
    const openId = requireOpenId(openIdRaw);
    if (type === undefined) throw errors.invalid('type', 'must be TASK or EXCHANGE');
    if (!Number.isInteger(pageSize) || pageSize < 0 || pageSize > MAX_PAGE) {
      throw errors.invalid('page_size', `must be 0..${MAX_PAGE}`);
    }
    const size = pageSize === 0 ? DEFAULT_PAGE : pageSize;
    let before: string | undefined;
    if (pageToken !== '') {
      before = Buffer.from(pageToken, 'base64url').toString('utf8');
      if (!/^\d{1,19}$/.test(before)) throw errors.invalid('page_token', 'is not a token from a previous page');
    }
    const rows = await this.deps.store.listChanges(openId, type === 'exchange', before, size + 1);
    const page = rows.slice(0, size);
    const [exchanges, remaining] = await Promise.all([this.deps.store.exchangesByRecord(page.map((r) => r.id)), this.remainingOf(openId, page)]);
    const byRecord = new Map(exchanges.map((e) => [e.recordId, e]));
    const last = page[page.length - 1];
    return {
      records: page.map((record, i) => ({ record, exchange: byRecord.get(record.id), remaining: remaining[i] })),
      nextPageToken: rows.length > size && last !== undefined ? Buffer.from(last.id).toString('base64url') : '',
    };
  }

  /** What is left now of each credit's lot (undefined for a debit), from one query. */
  private async remainingOf(openId: string, records: readonly PointsChange[]): Promise<Array<bigint | undefined>> {
    const isCredit = (r: PointsChange): boolean => r.direction === 'credit';
    const left = await this.deps.store.lotsLeft(openId, records.filter(isCredit).map((r) => r.id), this.now());
    return records.map((r) => (isCredit(r) ? (left.get(r.id) ?? 0n) : undefined));
  }

  /** A credit answered by a replay: its lot may have been spent or have expired since. */
  private async replayedView(record: PointsChange): Promise<RecordView> {
    const [remaining] = await this.remainingOf(record.openId, [record]);
    return { record, remaining };
  }

  async listPrizes(openIdRaw: string): Promise<Array<{ prize: PointsPrize; status: PrizeStatusValue }>> {
    const openId = requireOpenId(openIdRaw);
    const at = this.deps.clock.now();
    const limits: LimitKind[] = ['day', 'week', 'month', 'once'];
    const currentKeys = limits.map((l) => periodKey(l, at, this.deps.timeZone));
    const [prizes, exchanged] = await Promise.all([this.deps.store.listPrizes(), this.deps.store.exchangedPeriods(openId, currentKeys)]);
    const done = new Set(exchanged.map((e) => `${e.prizeId}\u0000${e.periodKey}`));
    const views = prizes.map((prize) => {
      const key = periodKey(prize.exchangeLimit, at, this.deps.timeZone);
      const status: PrizeStatusValue = done.has(`${prize.prizeId}\u0000${key}`)
        ? 'exchanged'
        : prize.stock <= 0n
          ? 'soldOut'
          : 'exchangeable';
      return { prize, status };
    });
    // Stable: exchangeable first, the rest after, each group in catalogue order.
    return [...views.filter((v) => v.status === 'exchangeable'), ...views.filter((v) => v.status !== 'exchangeable')];
  }

  async listTasks(openIdRaw: string): Promise<{ permanent: UserTaskView[]; cyclic: UserTaskView[] }> {
    const openId = requireOpenId(openIdRaw);
    const at = this.deps.clock.now();
    const [tasks, rows] = await Promise.all([this.deps.store.listTasks(), this.deps.store.userTasks(openId)]);
    const byTask = new Map(rows.map((r) => [r.task_id, r]));
    const views = tasks.map((task): UserTaskView => {
      const row = byTask.get(task.taskId);
      if (row === undefined || row.cycle_key !== cycleKey(task.cycle, at, this.deps.timeZone)) {
        return { task, currentTotal: 0n, status: 1 };
      }
      return { task, currentTotal: big(row.complete_num), status: row.status as TaskStatusValue };
    });
    return { permanent: views.filter((v) => v.task.type === 'permanentTask'), cyclic: views.filter((v) => v.task.type === 'cyclicTask') };
  }

  async getRule(): Promise<RuleView> {
    const row = await this.deps.store.getRule();
    if (row === undefined) return { detail: '', expiries: [], updatedAt: undefined };
    return {
      detail: row.rule_detail,
      expiries: JSON.parse(row.source_expiries) as Array<{ source: Source; days: number }>,
      updatedAt: Number(row.updated_at),
    };
  }

  /** When a credit of this source, granted now, expires; undefined for never. */
  private async expiryFor(source: Source, at: Date): Promise<number | undefined> {
    if (source === 'task') return taskRewardExpiry(at, this.deps.timeZone).getTime();
    const rule = await this.getRule();
    const days = rule.expiries.find((e) => e.source === source)?.days ?? 0;
    return expiryAfterDays(at, days)?.getTime();
  }

  async exchangePrize(
    input: {
      requestId: string;
      openId: string;
      prizeId: string;
      address: string;
      userName: string;
      tel: string;
    },
    owner: string,
  ): Promise<ExchangeResult> {
    const requestId = requireRequestId(input.requestId);
    const openId = requireOpenId(input.openId);
    const prizeId = requireId(input.prizeId, 'prize_id');
    const address = optionalText(input.address, 'shipping.address', 512);
    const userName = optionalText(input.userName, 'shipping.user_name', 64);
    const tel = optionalText(input.tel, 'shipping.tel', 32);
    const hash = fingerprint(['exchange', openId, prizeId, address, userName, tel]);
    return this.exchange({ owner, requestId, openId, prizeId, hash, faceValue: undefined, shipping: { address, userName, tel }, sent: false });
  }

  /** SendPrize: an operator delivers a virtual prize, debiting its (or the given) face value. */
  async sendPrize(input: { requestId: string; openId: string; prizeId: string; faceValue: string }, owner: string): Promise<ExchangeResult> {
    const requestId = requireRequestId(input.requestId);
    const openId = requireOpenId(input.openId);
    const prizeId = requireId(input.prizeId, 'prize_id');
    const faceValue = input.faceValue === '' || input.faceValue === '0' ? undefined : requirePoints(input.faceValue, 'face_value');
    const hash = fingerprint(['send', openId, prizeId, faceValue]);
    return this.exchange({ owner, requestId, openId, prizeId, hash, faceValue, shipping: { address: '', userName: '', tel: '' }, sent: true });
  }

  private async exchange(e: {
    owner: string;
    requestId: string;
    openId: string;
    prizeId: string;
    hash: string;
    faceValue: bigint | undefined;
    shipping: { address: string; userName: string; tel: string };
    sent: boolean;
  }): Promise<ExchangeResult> {
    const found = await this.deps.store.getPrize(e.prizeId);
    const prize = found === undefined ? new PrizeNotFoundError(e.prizeId) : (exchangeRefusal(found, e) ?? found);
    if (prize instanceof Error) {
      // A replay gets its first answer even when the prize has changed since.
      const replayed = await this.replayExchange(e.owner, e.openId, e.requestId, e.hash);
      if (replayed) return replayed;
      // A disabled prize may be enabled again: the refusal is kept as the request id's answer.
      if (found !== undefined && prize instanceof PrizeUnavailableError) {
        return this.refuseExchange(e, 'unavailable', e.faceValue ?? found.faceValue, '', prize);
      }
      throw prize;
    }
    return this.userLock(e.openId, async () => {
      const at = this.deps.clock.now();
      const key = periodKey(prize.exchangeLimit, at, this.deps.timeZone);
      const amount = e.faceValue ?? prize.faceValue;
      try {
        return await this.deps.store.exchange({
          debit: {
            owner: e.owner,
            openId: e.openId,
            amount,
            now: at.getTime(),
            source: 'exchange',
            changeId: prize.prizeId,
            // The legacy centre's own words (seed 002's changeSource names): users read these.
            description: `${e.sent ? '发放奖励' : '兑换奖励'}: ${prize.title}`,
            prizeType: prize.type,
            requestId: e.requestId,
            requestHash: e.hash,
          },
          prize,
          periodKey: key,
          requestId: e.requestId,
          requestHash: e.hash,
          address: e.shipping.address,
          userName: e.shipping.userName,
          tel: e.shipping.tel,
        });
      } catch (err) {
        if (!(err instanceof RequestRecordedError || isUniqueViolation(err))) throw err;
        const again = await this.replayExchange(e.owner, e.openId, e.requestId, e.hash);
        if (again) return again;
        // The exchange limit's unique key, taken by a concurrent exchange: refused as the
        // procedure's and the transaction's own check refuse (and stored the same way).
        return this.refuseExchange(e, 'limit_reached', amount, key, new ExchangeLimitReachedError(key));
      }
    });
  }

  /**
   * Stores a refusal decided outside the debit as the request id's final answer and throws it;
   * a request id answered meanwhile (a change record, or a refusal) is answered from that.
   */
  private async refuseExchange(
    e: { owner: string; requestId: string; openId: string; hash: string },
    reason: RefusalReason,
    amount: bigint,
    periodKey: string,
    refusal: Error,
  ): Promise<ExchangeResult> {
    const change = { owner: e.owner, openId: e.openId, amount, now: this.now(), requestId: e.requestId, requestHash: e.hash };
    if ((await this.deps.store.refuse({ change, reason, periodKey })) === 'recorded') {
      const answer = await this.replayExchange(e.owner, e.openId, e.requestId, e.hash);
      if (answer) return answer;
    }
    throw refusal;
  }

  private async replayExchange(owner: string, openId: string, requestId: string, hash: string): Promise<ExchangeResult | undefined> {
    const prior = await this.replay(owner, openId, requestId, hash);
    if (prior === undefined) return undefined;
    const found = await this.deps.store.findExchangeByRequest(owner, openId, requestId);
    if (found === undefined) throw errors.keyReused('request_id');
    return found;
  }

  async receiveTaskAward(input: { requestId: string; openId: string; taskId: string }, owner: string): Promise<RecordView> {
    const requestId = requireRequestId(input.requestId);
    const openId = requireOpenId(input.openId);
    const taskId = requireId(input.taskId, 'task_id');
    const hash = fingerprint(['task', openId, taskId]);
    const prior = await this.replay(owner, openId, requestId, hash);
    if (prior) return this.replayedView(prior);
    const task = await this.deps.store.getTask(taskId);
    if (task === undefined) throw new TaskNotFoundError(taskId);
    return this.userLock(openId, async () => {
      const at = this.deps.clock.now();
      const cycle = cycleKey(task.cycle, at, this.deps.timeZone);
      const credit: CreditInput = {
        owner,
        openId,
        amount: task.faceValue,
        now: at.getTime(),
        source: 'task',
        changeId: taskId,
        description: `任务奖励: ${task.title}`,
        prizeType: 'integral',
        taskTitle: task.title,
        requestId,
        requestHash: hash,
        dedupeKey: `task:${taskId}:${cycle}`,
        expiresAt: taskRewardExpiry(at, this.deps.timeZone).getTime(),
      };
      try {
        const record = await this.deps.store.claimTask(openId, taskId, cycle, credit);
        if (record === undefined) throw new TaskNotClaimableError();
        return { record, remaining: credit.amount };
      } catch (err) {
        if (!(err instanceof RequestRecordedError || isUniqueViolation(err))) throw err;
        const again = await this.replay(owner, openId, requestId, hash);
        if (again) return this.replayedView(again);
        throw new TaskNotClaimableError();
      }
    });
  }

  // ---- B-end ------------------------------------------------------------------------------

  async savePointsRule(detailRaw: string, expiriesRaw: ReadonlyArray<{ source: Source | undefined; days: number }>): Promise<RuleView> {
    const detail = requireText(detailRaw, 'rule_detail', 20_000, TEXT_COLUMN_BYTES);
    const seen = new Set<Source>();
    const expiries = expiriesRaw.map((e, i) => {
      const field = `source_expiries[${i}]`;
      if (e.source === undefined || e.source === 'task' || e.source === 'expiredTask') {
        throw errors.invalid(`${field}.source`, 'must be EXCHANGE, OTHER, SIGN or INVITE (task rewards always last a year)');
      }
      if (seen.has(e.source)) throw errors.invalid(`${field}.source`, 'is listed twice');
      seen.add(e.source);
      if (!Number.isInteger(e.days) || e.days < 0 || e.days > 3650) {
        throw errors.invalid(`${field}.validity_days`, 'must be 0 (never) .. 3650');
      }
      return { source: e.source, days: e.days };
    });
    const now = this.now();
    await this.deps.store.saveRule({ rule_detail: detail, source_expiries: JSON.stringify(expiries), updated_at: now });
    return { detail, expiries, updatedAt: now };
  }

  async saveTask(input: TaskInput): Promise<PointsTask> {
    const taskId = input.taskId === '' ? `task-${randomUUID()}` : requireId(input.taskId, 'task.task_id');
    if (input.type === undefined) throw errors.invalid('task.type', 'must be PERMANENT or CYCLIC');
    let cycleType: CycleKind | undefined;
    let cycleDay = 0;
    if (input.type === 'cyclicTask') {
      if (input.cycleType === undefined) throw errors.invalid('task.cycle.type', 'is required for cyclic tasks');
      cycleType = input.cycleType;
      if (input.cycleType === 'weekday' && !(Number.isInteger(input.cycleDay) && input.cycleDay >= 1 && input.cycleDay <= 7)) {
        throw errors.invalid('task.cycle.day', 'must be a weekday 1 (Monday) .. 7 (Sunday)');
      }
      if (input.cycleType === 'monthDay' && !(Number.isInteger(input.cycleDay) && input.cycleDay >= 1 && input.cycleDay <= 31)) {
        throw errors.invalid('task.cycle.day', 'must be a day of the month 1..31');
      }
      if (input.cycleType === 'weekday' || input.cycleType === 'monthDay') cycleDay = input.cycleDay;
    }
    if (input.btnType === undefined) throw errors.invalid('task.button.type', 'must be ROUTE, QR_CODE or CUSTOMIZE');
    const path = optionalText(input.path, 'task.button.path', 1024);
    const imgUrl = optionalText(input.imgUrl, 'task.button.image_url', 1024);
    if (input.btnType === 'route' && path === '') throw errors.invalid('task.button.path', 'is required for ROUTE buttons');
    if (input.btnType === 'qrCode' && imgUrl === '') {
      throw errors.invalid('task.button.image_url', 'is required for QR_CODE buttons');
    }
    if (input.model === undefined) throw errors.invalid('task.model', 'must be STANDARD or PROGRESS');
    const now = this.now();
    // Validated in the order of the fields, as the seed reports the first bad one.
    return this.deps.store.upsertTask({
      taskId,
      type: input.type,
      cycleTitle: optionalText(input.cycleTitle, 'task.cycle.title', 64),
      cycle: cycleType === undefined ? undefined : { kind: cycleType, day: cycleDay },
      title: requireText(input.title, 'task.title', 128),
      description: optionalText(input.description, 'task.description', 1024),
      button: { title: optionalText(input.btnTitle, 'task.button.title', 64), type: input.btnType, path, imageUrl: imgUrl },
      faceValue: requirePoints(input.faceValue, 'task.face_value'),
      total: requirePoints(input.total, 'task.total'),
      model: input.model,
      createdAt: now,
      updatedAt: now,
    });
  }

  async savePrize(input: PrizeInput): Promise<PointsPrize> {
    const prizeId = input.prizeId === '' ? `prize-${randomUUID()}` : requireId(input.prizeId, 'prize.prize_id');
    const faceValue = requirePoints(input.faceValue, 'prize.face_value');
    const title = requireText(input.title, 'prize.title', 128);
    const description = optionalText(input.description, 'prize.description', 1024);
    const icon = optionalText(input.icon, 'prize.icon', 1024);
    if (!/^\d{1,10}$/.test(input.total) || BigInt(input.total) > MAX_STOCK) {
      throw errors.invalid('prize.total', `must be an integer 0..${MAX_STOCK}`);
    }
    const total = BigInt(input.total);
    if (input.type === undefined || input.type === 'integral') {
      throw errors.invalid('prize.type', 'must be GOODS or VIRTUAL_GOODS');
    }
    if (input.exchangeLimit === undefined) throw errors.invalid('prize.exchange_limit', 'must be DAY, WEEK, MONTH or ONCE');
    const now = this.now();
    const prize: PointsPrize = {
      prizeId,
      faceValue,
      title,
      description,
      icon,
      total,
      stock: total,
      type: input.type,
      exchangeLimit: input.exchangeLimit,
      disabled: input.disabled,
      createdAt: now,
      updatedAt: now,
    };
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const existing = await this.deps.store.getPrize(prizeId);
      if (existing === undefined) {
        if (await this.deps.store.insertPrize(prize)) return this.mustPrize(prizeId);
        continue;
      }
      const outcome = await this.deps.store.updatePrize({ ...prize, createdAt: existing.createdAt }, existing.total);
      if (outcome === 'ok') return this.mustPrize(prizeId);
      if (outcome === 'stock') throw new StockBelowZeroError();
    }
    throw new ConcurrentUpdateError('the prize');
  }

  private async mustPrize(prizeId: string): Promise<PointsPrize> {
    const prize = await this.deps.store.getPrize(prizeId);
    if (prize === undefined) throw new PrizeNotFoundError(prizeId);
    return prize;
  }

  /**
   * The exchanges of physical goods after exchange id `afterRaw` (an int64 as a decimal string,
   * "0" or "" from the first), oldest first, one keyset page (EXPORT_PAGE_ROWS) at a time: the
   * next page is read only when the consumer asks for it, and none once `signal` aborts.
   */
  async *exportExchangesToShip(afterRaw: string, signal?: AbortSignal): AsyncGenerator<PointsExchange[], void, undefined> {
    const after = afterRaw === '' ? 0 : /^\d{1,16}$/.test(afterRaw) ? Number(afterRaw) : Number.NaN;
    if (!Number.isSafeInteger(after)) throw errors.invalid('after_exchange_id', 'must be 0 or an exchange id');
    yield* keysetPages(
      (from: number, limit) => this.deps.store.exchangesToShipPage(from, limit),
      (row) => Number(row.id),
      { after, ...(signal === undefined ? {} : { signal }) },
    );
  }

  async getPrize(prizeIdRaw: string): Promise<PointsPrize> {
    return this.mustPrize(requireId(prizeIdRaw, 'prize_id'));
  }

  async getTask(taskIdRaw: string): Promise<PointsTask> {
    const taskId = requireId(taskIdRaw, 'task_id');
    const task = await this.deps.store.getTask(taskId);
    if (task === undefined) throw new TaskNotFoundError(taskId);
    return task;
  }

  async setUserTaskStatus(input: { openId: string; taskId: string; completeNum: string; status: TaskStatusValue | undefined }): Promise<UserTaskView> {
    const openId = requireOpenId(input.openId);
    const taskId = requireId(input.taskId, 'task_id');
    if (input.status === undefined) throw errors.invalid('status', 'must be TO_CLAIM, IN_PROGRESS or DONE');
    if (!/^-?\d{1,20}$/.test(input.completeNum)) throw errors.invalid('complete_num', 'must be an integer');
    const completeNum = BigInt(input.completeNum);
    const task = await this.deps.store.getTask(taskId);
    if (task === undefined) throw new TaskNotFoundError(taskId);
    const total = task.total;
    if (completeNum < 0n || completeNum > total) throw errors.invalid('complete_num', `must be 0..${total} (the task's total)`);
    if (input.status !== 1 && completeNum !== total) {
      throw errors.invalid('status', 'only complete_num == total may be TO_CLAIM or DONE');
    }
    const at = this.deps.clock.now();
    await this.deps.store.putUserTask({
      open_id: openId,
      task_id: taskId,
      cycle_key: cycleKey(task.cycle, at, this.deps.timeZone),
      status: input.status,
      complete_num: completeNum.toString(),
      updated_at: at.getTime(),
    });
    return { task, currentTotal: completeNum, status: input.status };
  }

  async changePoints(input: ChangePointsInput, owner: string): Promise<RecordView> {
    const requestId = requireRequestId(input.requestId);
    const openId = requireOpenId(input.openId);
    if (input.direction === undefined) throw errors.invalid('direction', 'must be CREDIT or DEBIT');
    const amount = requirePoints(input.faceValue, 'face_value');
    if (input.source === undefined || input.source === 'expiredTask') {
      throw errors.invalid('source', 'must be TASK, EXCHANGE, OTHER, SIGN or INVITE');
    }
    const changeId = optionalText(input.changeId, 'change_id', 64);
    const description = optionalText(input.description, 'description', 1024);
    const prizeType = input.prizeType ?? 'integral';
    const hash = fingerprint(['change', openId, input.direction, amount, input.source, changeId, description, prizeType]);
    // No replay check up front: a replay is told apart by the store, in the same round trip.
    const source = input.source;
    const direction = input.direction;
    return this.userLock(openId, async () => {
      const at = this.deps.clock.now();
      const change = { owner, openId, amount, now: at.getTime(), source, changeId, description, prizeType, requestId, requestHash: hash };
      try {
        if (direction === 'debit') return { record: await this.deps.store.debit(change), remaining: undefined };
        return { record: await this.deps.store.credit({ ...change, expiresAt: await this.expiryFor(source, at) }), remaining: amount };
      } catch (err) {
        if (!(err instanceof RequestRecordedError || isUniqueViolation(err))) throw err;
        const again = await this.replay(owner, openId, requestId, hash);
        if (again) return this.replayedView(again);
        throw err;
      }
    });
  }
}

