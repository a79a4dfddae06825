/**
 * All SQL of the points centre. Every transaction that moves a user's points first updates the
 * user's account row, which serializes them in the database; lots are then drawn with
 * conditional updates checked by affected rows, and once-only effects rest on unique keys.
 *
 * Reads inside those transactions are plain (no FOR UPDATE): on MySQL the first plain read
 * takes its snapshot after the account row lock is held, so it sees every earlier writer of
 * the user, and no range locks are taken that would deadlock inserts of other users' lots.
 */
import type { Knex } from 'knex';
import { createBatcher, firstByKey, groupByKey } from '../platform/batch.js';
import { isUniqueViolation, retryConflicts, type Database } from '../platform/db.js';
import { LEGACY_OWNER } from '../platform/owner.js';
import { callRoutine, type RoutineArgs } from '../platform/routines.js';
import { ConcurrentUpdateError, ExchangeLimitReachedError, InsufficientPointsError, PrizeSoldOutError } from './errors.js';
import { REFUSALS, T } from './migrations.js';
import type {
  ButtonKind,
  CycleKind,
  CycleRule,
  LimitKind,
  PointsChange,
  PointsExchange,
  PointsPrize,
  PointsTask,
  PrizeKind,
  RefusalReason,
  Source,
  TaskKind,
  TaskModel,
} from './model.js';
import { CREDIT, DEBIT } from './routines.js';

type Num = number | string;

interface ChangeRow {
  id: Num;
  /** The owner of request_id (platform/owner.ts); LEGACY_OWNER for rows without one. */
  owner: string;
  open_id: string;
  direction: Num;
  source: Source;
  face_value: Num;
  balance_after: Num;
  description: string;
  change_id: string;
  prize_type: PrizeKind;
  task_title: string;
  created_at: Num;
  expires_at: Num | null;
  request_id: string | null;
  request_hash: string | null;
  dedupe_key: string | null;
}

interface ExchangeRow {
  id: Num;
  owner: string;
  open_id: string;
  prize_id: string;
  request_id: string;
  request_hash: string;
  record_id: Num;
  period_key: string;
  title: string;
  icon: string;
  face_value: Num;
  type: PrizeKind;
  address: string;
  user_name: string;
  tel: string;
  created_at: Num;
}

export interface RefusalRow {
  owner: string;
  open_id: string;
  request_id: string;
  request_hash: string;
  reason: RefusalReason;
  /** The points asked for. */
  face_value: Num;
  /** The exchange limit's period (limit_reached), else ''. */
  period_key: string;
  created_at: Num;
}

/** A refusal to store: the refused change's key and amount, and why. */
export interface RefusalInput {
  readonly change: Pick<ChangeInput, 'owner' | 'openId' | 'amount' | 'now' | 'requestId' | 'requestHash'>;
  readonly reason: RefusalReason;
  readonly periodKey: string;
}

/**
 * The refusals that are a request id's final answer (issue 16.1): they depend on balances, stock
 * and periods that move, so a stale copy of the request run later could pay.
 */
function refusalOf(err: unknown): RefusalReason | undefined {
  if (err instanceof InsufficientPointsError) return 'insufficient';
  if (err instanceof PrizeSoldOutError) return 'sold_out';
  if (err instanceof ExchangeLimitReachedError) return 'limit_reached';
  return undefined;
}

interface PrizeRow {
  prize_id: string;
  face_value: Num;
  title: string;
  description: string;
  icon: string;
  total: Num;
  stock: Num;
  type: PrizeKind;
  exchange_limit: LimitKind;
  disabled: boolean | number;
  created_at: Num;
  updated_at: Num;
}

export interface TaskRow {
  task_id: string;
  type: TaskKind;
  cycle_title: string;
  cycle_type: string;
  cycle_day: number;
  title: string;
  description: string;
  btn_title: string;
  btn_type: string;
  path: string;
  img_url: string;
  face_value: Num;
  total: Num;
  model: string;
  created_at: Num;
  updated_at: Num;
}

export interface UserTaskRow {
  open_id: string;
  task_id: string;
  cycle_key: string;
  status: number;
  complete_num: Num;
  updated_at: Num;
}

export interface RuleRow {
  rule_detail: string;
  source_expiries: string;
  updated_at: Num;
}

export interface JobRunRow {
  run_date: string;
  expire_done: boolean | number;
  tasks_done: boolean | number;
  expired_lots: Num;
  expired_points: Num;
  reset_tasks: Num;
  started_at: Num;
  finished_at: Num | null;
  /** Time spent working on the day, summed over the calls that did. */
  duration_ms: Num | null;
}

/** Where the daily job's walk over due lots stopped: the last lot seen. */
export interface ExpiryCursor {
  readonly expiresAt: number;
  readonly id: string;
}

/** A lot the daily job's walk found due. */
export interface DueLot {
  readonly id: Num;
  readonly open_id: string;
  readonly expires_at: Num;
}

interface LotRow {
  id: Num;
  open_id: string;
  remaining: Num;
  expires_at: Num | null;
}

export interface ChangeInput {
  /** The owner of requestId (platform/owner.ts): request ids are unique per owner and user. */
  readonly owner: string;
  readonly openId: string;
  readonly amount: bigint;
  readonly now: number;
  readonly source: Source;
  readonly changeId: string;
  readonly description: string;
  readonly prizeType: PrizeKind;
  readonly taskTitle?: string;
  readonly requestId?: string;
  readonly requestHash?: string;
  readonly dedupeKey?: string;
}

export interface CreditInput extends ChangeInput {
  readonly expiresAt: number | undefined;
}

export interface ExchangeInput {
  readonly debit: ChangeInput;
  readonly prize: PointsPrize;
  readonly periodKey: string;
  readonly requestId: string;
  readonly requestHash: string;
  readonly address: string;
  readonly userName: string;
  readonly tel: string;
}

export interface StoreFaults {
  /**
   * Called inside the exchange transaction after the debit and the stock update (tests). Only
   * the SQLite path has a point between those statements; MySQL runs them in one call.
   */
  afterStockTaken?(): void | Promise<void>;
}

/**
 * The request id already has an answer, a change record or a stored refusal: the caller answers
 * from it. (A credit finds a change record from the unique key instead; a debit checks first,
 * because a replay must get its first answer even when the balance has since run short.)
 */
export class RequestRecordedError extends Error {
  constructor() {
    super('the request id already has a change record');
    this.name = 'RequestRecordedError';
  }
}

export const big = (v: Num | null | undefined): bigint => (v === null || v === undefined ? 0n : BigInt(String(v)));
const num = (v: Num): number => Number(v);

/** points_debit's exchange parameters (prize id to tel) for a debit that is no exchange. */
/** points_debit's exchange parameters for a debit that is no exchange. */
const NO_EXCHANGE = {
  p_prize_id: null,
  p_period_key: null,
  p_title: null,
  p_icon: null,
  p_type: null,
  p_address: null,
  p_user_name: null,
  p_tel: null,
} as const;

/** The parameters points_credit and points_debit share: the change record's. */
function changeArgs(c: ChangeInput): Omit<RoutineArgs<typeof CREDIT>, 'p_expires_at'> {
  return {
    p_owner: c.owner,
    p_open_id: c.openId,
    p_amount: c.amount.toString(),
    p_now: c.now,
    p_source: c.source,
    p_change_id: c.changeId,
    p_description: c.description,
    p_prize_type: c.prizeType,
    p_task_title: c.taskTitle ?? '',
    p_request_id: c.requestId ?? null,
    p_request_hash: c.requestHash ?? null,
    p_dedupe_key: c.dedupeKey ?? null,
  };
}

/** points_rules holds one row. */
const RULE_ID = 1;

/** The change record's columns but its id. */
function changeFields(c: ChangeInput, direction: 1 | 2, balanceAfter: bigint, expiresAt: number | undefined): Omit<ChangeRow, 'id'> {
  return {
    owner: c.owner,
    open_id: c.openId,
    direction,
    source: c.source,
    face_value: c.amount.toString(),
    balance_after: balanceAfter.toString(),
    description: c.description,
    change_id: c.changeId,
    prize_type: c.prizeType,
    task_title: c.taskTitle ?? '',
    created_at: c.now,
    expires_at: expiresAt ?? null,
    request_id: c.requestId ?? null,
    request_hash: c.requestHash ?? null,
    dedupe_key: c.dedupeKey ?? null,
  };
}

const toChange = (r: ChangeRow): PointsChange => ({
  id: String(r.id),
  owner: r.owner,
  openId: r.open_id,
  direction: Number(r.direction) === 1 ? 'credit' : 'debit',
  source: r.source,
  faceValue: big(r.face_value),
  balanceAfter: big(r.balance_after),
  description: r.description,
  changeId: r.change_id,
  prizeType: r.prize_type,
  taskTitle: r.task_title,
  createdAt: num(r.created_at),
  expiresAt: r.expires_at === null ? undefined : num(r.expires_at),
  requestId: r.request_id ?? undefined,
  requestHash: r.request_hash ?? undefined,
});

const toExchange = (r: ExchangeRow): PointsExchange => ({
  id: String(r.id),
  owner: r.owner,
  openId: r.open_id,
  prizeId: r.prize_id,
  requestId: r.request_id,
  requestHash: r.request_hash,
  recordId: String(r.record_id),
  periodKey: r.period_key,
  title: r.title,
  icon: r.icon,
  faceValue: big(r.face_value),
  type: r.type,
  address: r.address,
  userName: r.user_name,
  tel: r.tel,
  createdAt: num(r.created_at),
});

const toPrize = (r: PrizeRow): PointsPrize => ({
  prizeId: r.prize_id,
  faceValue: big(r.face_value),
  title: r.title,
  description: r.description,
  icon: r.icon,
  total: big(r.total),
  stock: big(r.stock),
  type: r.type,
  exchangeLimit: r.exchange_limit,
  disabled: r.disabled === true || r.disabled === 1,
  createdAt: num(r.created_at),
  updatedAt: num(r.updated_at),
});

const prizeColumns = (p: PointsPrize): PrizeRow => ({
  prize_id: p.prizeId,
  face_value: p.faceValue.toString(),
  title: p.title,
  description: p.description,
  icon: p.icon,
  total: p.total.toString(),
  stock: p.stock.toString(),
  type: p.type,
  exchange_limit: p.exchangeLimit,
  disabled: p.disabled,
  created_at: p.createdAt,
  updated_at: p.updatedAt,
});

/** A task row's cycle: undefined for a permanent task. */
export function ruleOfTask(task: Pick<TaskRow, 'type' | 'cycle_type' | 'cycle_day'>): CycleRule | undefined {
  return task.type === 'cyclicTask' ? { kind: task.cycle_type as CycleKind, day: task.cycle_day } : undefined;
}

const toTask = (r: TaskRow): PointsTask => ({
  taskId: r.task_id,
  type: r.type,
  cycle: ruleOfTask(r),
  cycleTitle: r.cycle_title,
  title: r.title,
  description: r.description,
  button: { title: r.btn_title, type: r.btn_type as ButtonKind, path: r.path, imageUrl: r.img_url },
  faceValue: big(r.face_value),
  total: big(r.total),
  model: r.model as TaskModel,
  createdAt: num(r.created_at),
  updatedAt: num(r.updated_at),
});

const taskColumns = (t: PointsTask): TaskRow => ({
  task_id: t.taskId,
  type: t.type,
  cycle_title: t.cycleTitle,
  cycle_type: t.cycle?.kind ?? '',
  cycle_day: t.cycle?.day ?? 0,
  title: t.title,
  description: t.description,
  btn_title: t.button.title,
  btn_type: t.button.type,
  path: t.button.path,
  img_url: t.button.imageUrl,
  face_value: t.faceValue.toString(),
  total: t.total.toString(),
  model: t.model,
  created_at: t.createdAt,
  updated_at: t.updatedAt,
});

interface HoldingsKey {
  readonly openId: string;
  readonly now: number;
}

// The instant is part of the key so that the batch's `now` is at least every caller's.
const holdingsKeyOf = (k: HoldingsKey): string => `${k.openId}\u0000${k.now}`;

export interface Holdings {
  readonly balance: bigint;
  readonly expiries: ReadonlyArray<{ at: number; points: bigint }>;
}

export class PointsStore {
  /** MySQL: credits, debits and exchanges run as one stored-procedure call each. */
  private readonly procedures: boolean;
  private readonly loadHoldings: (key: HoldingsKey) => Promise<Holdings | undefined>;
  private readonly loadRule: (id: number) => Promise<RuleRow | undefined>;
  private readonly loadPrize: (prizeId: string) => Promise<PointsPrize | undefined>;

  private readonly knex: Knex;

  constructor(
    db: Database,
    private readonly faults: StoreFaults = {},
  ) {
    this.knex = db.knex;
    this.procedures = db.dialect === 'mysql';
    this.loadHoldings = createBatcher((keys) => this.holdingsOf(keys), { keyOf: holdingsKeyOf });
    this.loadPrize = createBatcher((ids) => this.prizesOf(ids), { keyOf: (id) => id });
    this.loadRule = createBatcher(
      async () => {
        const row = (await this.knex(T.rules).where('id', RULE_ID).first()) as RuleRow | undefined;
        return new Map(row === undefined ? [] : [[String(RULE_ID), row]]);
      },
      { keyOf: String },
    );
  }

  /** Runs a transaction, retrying it when MySQL picks it as a deadlock victim. */
  private tx<R>(fn: (trx: Knex.Transaction) => Promise<R>): Promise<R> {
    return retryConflicts(() => this.knex.transaction(fn));
  }

  private unexpired(q: Knex.QueryBuilder, now: number): Knex.QueryBuilder {
    return q.where('remaining', '>', 0).where((w) => w.whereNull('expires_at').orWhere('expires_at', '>', now));
  }

  // ---- balances -------------------------------------------------------------------------

  async balance(openId: string, now: number): Promise<bigint> {
    return (await this.holdings(openId, now)).balance;
  }

  /** Balance and expiries from one indexed query, shared by the reads that arrive together. */
  async holdings(openId: string, now: number): Promise<Holdings> {
    return (await this.loadHoldings({ openId, now })) ?? { balance: 0n, expiries: [] };
  }

  /**
   * Unexpired remaining points grouped by user and expiry. The batch is read as of its latest
   * `now`: that instant is after every request in it arrived, so each sees a valid present.
   */
  private async holdingsOf(keys: readonly HoldingsKey[]): Promise<Map<string, Holdings>> {
    const now = Math.max(...keys.map((k) => k.now));
    const rows = (await this.unexpired(
      this.knex(T.lots)
        .select('open_id', 'expires_at')
        .sum({ s: 'remaining' })
        .whereIn('open_id', [...new Set(keys.map((k) => k.openId))]),
      now,
    )
      .groupBy('open_id', 'expires_at')
      .orderBy([
        { column: 'open_id', order: 'asc' },
        { column: 'expires_at', order: 'asc' },
      ])) as Array<{ open_id: string; expires_at: Num | null; s: Num }>;
    const groups = groupByKey(rows, (r) => r.open_id);
    const found = new Map<string, Holdings>();
    for (const key of keys) {
      const group = groups.get(key.openId);
      if (group === undefined) continue;
      const expiries = group.flatMap((r) => (r.expires_at === null ? [] : [{ at: num(r.expires_at), points: big(r.s) }]));
      found.set(holdingsKeyOf(key), { balance: group.reduce((sum, r) => sum + big(r.s), 0n), expiries });
    }
    return found;
  }

  private async sumUnexpiredIn(trx: Knex.Transaction, openId: string, now: number): Promise<bigint> {
    const row = (await this.unexpired(trx(T.lots).where('open_id', openId), now).sum({ s: 'remaining' }).first()) as
      | { s: Num | null }
      | undefined;
    return big(row?.s);
  }

  private async ensureAccount(openId: string, now: number): Promise<void> {
    await this.knex(T.accounts).insert({ open_id: openId, balance: 0, updated_at: now }).onConflict('open_id').ignore();
  }

  private async insertChange(trx: Knex.Transaction, c: ChangeInput, direction: 1 | 2, balanceAfter: bigint, expiresAt: number | undefined): Promise<ChangeRow> {
    const row = changeFields(c, direction, balanceAfter, expiresAt);
    const [id] = (await trx(T.changes).insert(row)) as Num[];
    if (id === undefined) throw new Error('insert returned no id');
    return { id, ...row };
  }

  private async creditIn(trx: Knex.Transaction, c: CreditInput): Promise<ChangeRow> {
    const moved = await trx(T.accounts)
      .where('open_id', c.openId)
      .update({ balance: trx.raw('balance + ?', [c.amount.toString()]), updated_at: c.now });
    if (moved !== 1) throw new ConcurrentUpdateError('the account');
    await this.assertNotRefused(trx, c);
    const before = await this.sumUnexpiredIn(trx, c.openId, c.now);
    const record = await this.insertChange(trx, c, 1, before + c.amount, c.expiresAt);
    await trx(T.lots).insert({
      open_id: c.openId,
      source: c.source,
      record_id: record.id,
      granted_at: c.now,
      expires_at: c.expiresAt ?? null,
      amount: c.amount.toString(),
      remaining: c.amount.toString(),
    });
    return record;
  }

  /**
   * Draws `amount` from the soonest-expiring unexpired lots, then the non-expiring ones, each
   * with a conditional update; throws InsufficientPointsError (rolling back) if not covered.
   */
  private async debitIn(trx: Knex.Transaction, c: ChangeInput): Promise<ChangeRow> {
    const moved = await trx(T.accounts)
      .where('open_id', c.openId)
      .where('balance', '>=', c.amount.toString())
      .update({ balance: trx.raw('balance - ?', [c.amount.toString()]), updated_at: c.now });
    if (moved !== 1) throw new InsufficientPointsError(c.amount.toString());
    await this.assertNotRefused(trx, c);
    const lots = (await this.unexpired(trx(T.lots).select('id', 'remaining').where('open_id', c.openId), c.now).orderByRaw(
      'CASE WHEN expires_at IS NULL THEN 1 ELSE 0 END, expires_at, id',
    )) as LotRow[];
    let available = 0n;
    for (const lot of lots) available += big(lot.remaining);
    if (available < c.amount) throw new InsufficientPointsError(c.amount.toString());
    const record = await this.insertChange(trx, c, 2, available - c.amount, undefined);
    let left = c.amount;
    const draws: Array<{ record_id: Num; lot_id: Num; amount: string }> = [];
    for (const lot of lots) {
      if (left === 0n) break;
      const remaining = big(lot.remaining);
      const take = remaining < left ? remaining : left;
      const changed = await trx(T.lots)
        .where('id', lot.id)
        .where('remaining', '>=', take.toString())
        .update({ remaining: trx.raw('remaining - ?', [take.toString()]) });
      if (changed !== 1) throw new ConcurrentUpdateError('a points lot');
      draws.push({ record_id: record.id, lot_id: lot.id, amount: take.toString() });
      left -= take;
    }
    await trx(T.draws).insert(draws);
    return record;
  }

  /**
   * Credits a new lot; a unique violation (request_id, dedupe_key) propagates after rollback, and
   * a request id refused before is RequestRecordedError.
   */
  async credit(c: CreditInput): Promise<PointsChange> {
    if (this.procedures) {
      const { id, balanceAfter } = await this.callChange(CREDIT, { ...changeArgs(c), p_expires_at: c.expiresAt ?? null }, c);
      return toChange({ id, ...changeFields(c, 1, balanceAfter, c.expiresAt) });
    }
    await this.ensureAccount(c.openId, c.now);
    return toChange(await this.tx((trx) => this.creditIn(trx, c)));
  }

  /**
   * A debit of the unexpired lots; a refusal (InsufficientPointsError) is stored as the request
   * id's answer (see refusing).
   */
  async debit(c: ChangeInput): Promise<PointsChange> {
    if (this.procedures) {
      const { id, balanceAfter } = await this.callChange(DEBIT, { ...changeArgs(c), ...NO_EXCHANGE }, c);
      return toChange({ id, ...changeFields(c, 2, balanceAfter, undefined) });
    }
    const record = await this.refusing(c, '', () =>
      this.tx(async (trx) => {
        await this.assertNotRecorded(trx, c);
        return this.debitIn(trx, c);
      }),
    );
    return toChange(record);
  }

  /** A debit looks for its request id's answer before anything else (see RequestRecordedError). */
  private async assertNotRecorded(trx: Knex.Transaction, c: ChangeInput): Promise<void> {
    if (c.requestId === undefined) return;
    const key = { owner: c.owner, open_id: c.openId, request_id: c.requestId };
    if ((await trx(T.changes).first('id').where(key)) !== undefined) throw new RequestRecordedError();
    if ((await trx(REFUSALS).first('owner').where(key)) !== undefined) throw new RequestRecordedError();
  }

  /**
   * Under the account row (right after its update): a refusal stored for the request id since
   * the call looked (refuse holds the same row while it stores one), or before, for a credit.
   */
  private async assertNotRefused(trx: Knex.Transaction, c: ChangeInput): Promise<void> {
    if (c.requestId === undefined) return;
    if ((await trx(REFUSALS).first('owner').where({ owner: c.owner, open_id: c.openId, request_id: c.requestId })) !== undefined) {
      throw new RequestRecordedError();
    }
  }

  /**
   * Runs a debit's transaction (SQLite); when it is refused for a reason that is final
   * (refusalOf), the refusal is stored as the request id's answer after the rollback, and thrown
   * again; RequestRecordedError when the request id got an answer meanwhile.
   */
  private async refusing<R>(c: ChangeInput, periodKey: string, fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (err) {
      const reason = refusalOf(err);
      if (reason === undefined) throw err;
      if ((await this.refuse({ change: c, reason, periodKey })) === 'recorded') throw new RequestRecordedError();
      throw err;
    }
  }

  /**
   * Stores a refusal as the request id's final answer: 'stored', or 'recorded' when the request
   * id already has an answer (a change record committed first, or another refusal). One
   * transaction holding the user's account row, which every writer of a change record holds
   * first too (created if missing, outside the transaction, as ensureAccount does): a change of
   * the request id committed before is seen, and one waiting for the row sees the refusal
   * (assertNotRefused). The same statements as the end of points_debit; the service calls it
   * for refusals decided outside the debit (a disabled prize, a taken exchange limit).
   */
  async refuse(r: RefusalInput): Promise<'stored' | 'recorded'> {
    const c = r.change;
    if (c.requestId === undefined) return 'stored';
    const key = { owner: c.owner, open_id: c.openId, request_id: c.requestId };
    await this.ensureAccount(c.openId, c.now);
    return this.tx(async (trx) => {
      // A locking read (SQLite has one writer at a time anyway).
      if (this.procedures) await trx(T.accounts).first('open_id').where('open_id', c.openId).forUpdate();
      if ((await trx(T.changes).first('id').where(key)) !== undefined) return 'recorded';
      const row: RefusalRow = {
        ...key,
        request_hash: c.requestHash ?? '',
        reason: r.reason,
        face_value: c.amount.toString(),
        period_key: r.periodKey,
        created_at: c.now,
      };
      try {
        await trx(REFUSALS).insert(row);
      } catch (err) {
        if (isUniqueViolation(err)) return 'recorded';
        throw err;
      }
      return 'stored';
    });
  }

  /** The refusal stored as the request id's answer, if any. */
  async findRefusal(owner: string, openId: string, requestId: string): Promise<RefusalRow | undefined> {
    return (await this.knex(REFUSALS).where({ owner, open_id: openId, request_id: requestId }).first()) as RefusalRow | undefined;
  }

  /**
   * One procedure call (MySQL); its refusals (stored by the procedure as the request id's
   * answer) come back as the errors the SQLite path throws. Deadlock victims run again, like
   * every transaction here.
   */
  private async callChange<R extends typeof CREDIT | typeof DEBIT>(
    routine: R,
    args: RoutineArgs<R>,
    c: ChangeInput,
    periodKey = '',
  ): Promise<{ id: Num; balanceAfter: bigint; exchangeId: Num | null }> {
    const [row] = await retryConflicts(() =>
      callRoutine<{ outcome: string; id: Num | null; balance_after: Num | null; exchange_id: Num | null }, R>(this.knex, routine, args),
    );
    switch (row?.outcome) {
      case 'ok':
        if (row.id === null) break;
        return { id: row.id, balanceAfter: big(row.balance_after), exchangeId: row.exchange_id };
      case 'recorded':
        throw new RequestRecordedError();
      case 'limit_reached':
        throw new ExchangeLimitReachedError(periodKey);
      case 'insufficient':
        throw new InsufficientPointsError(c.amount.toString());
      case 'sold_out':
        throw new PrizeSoldOutError();
      case 'lot_conflict':
        throw new ConcurrentUpdateError('a points lot');
    }
    throw new Error(`${routine.name} answered ${JSON.stringify(row)}`);
  }

  /**
   * Debit, stock and exchange record in one transaction, or none of them. A request id with an
   * answer (RequestRecordedError) and a taken exchange limit are told before any work, in that order.
   * A refusal (not enough points, sold out, the limit taken) is stored as the request id's answer
   * (see refusing); a unique violation (the limit taken by a concurrent exchange) propagates.
   */
  async exchange(e: ExchangeInput): Promise<{ exchange: PointsExchange; record: PointsChange }> {
    const row = {
      owner: e.debit.owner,
      open_id: e.debit.openId,
      prize_id: e.prize.prizeId,
      request_id: e.requestId,
      request_hash: e.requestHash,
      period_key: e.periodKey,
      title: e.prize.title,
      icon: e.prize.icon,
      face_value: e.debit.amount.toString(),
      type: e.prize.type,
      address: e.address,
      user_name: e.userName,
      tel: e.tel,
      created_at: e.debit.now,
    };
    if (this.procedures) {
      const { id, balanceAfter, exchangeId } = await this.callChange(
        DEBIT,
        {
          ...changeArgs(e.debit),
          p_prize_id: row.prize_id,
          p_period_key: row.period_key,
          p_title: row.title,
          p_icon: row.icon,
          p_type: row.type,
          p_address: row.address,
          p_user_name: row.user_name,
          p_tel: row.tel,
        },
        e.debit,
        row.period_key,
      );
      if (exchangeId === null) throw new Error(`${DEBIT.name} answered no exchange id`);
      return {
        exchange: toExchange({ id: exchangeId, record_id: id, ...row }),
        record: toChange({ id, ...changeFields(e.debit, 2, balanceAfter, undefined) }),
      };
    }
    const done = await this.refusing(e.debit, e.periodKey, () =>
      this.tx(async (trx) => {
        await this.assertNotRecorded(trx, e.debit);
        if (await this.hasExchangeInPeriod(e.debit.openId, e.prize.prizeId, e.periodKey, trx)) throw new ExchangeLimitReachedError(e.periodKey);
        const record = await this.debitIn(trx, e.debit);
        const taken = await trx(T.prizes)
          .where('prize_id', e.prize.prizeId)
          .where('stock', '>', 0)
          .update({ stock: trx.raw('stock - 1') });
        if (taken !== 1) throw new PrizeSoldOutError();
        await this.faults.afterStockTaken?.();
        const inserted = { ...row, record_id: record.id };
        const [id] = (await trx(T.exchanges).insert(inserted)) as Num[];
        if (id === undefined) throw new Error('insert returned no id');
        return { exchange: { id, ...inserted }, record };
      }),
    );
    return { exchange: toExchange(done.exchange), record: toChange(done.record) };
  }

  async findChangeByRequest(owner: string, openId: string, requestId: string): Promise<PointsChange | undefined> {
    const row = (await this.knex(T.changes).where({ owner, open_id: openId, request_id: requestId }).first()) as ChangeRow | undefined;
    return row === undefined ? undefined : toChange(row);
  }

  async findChangeByDedupe(openId: string, dedupeKey: string): Promise<PointsChange | undefined> {
    const row = (await this.knex(T.changes).where({ open_id: openId, dedupe_key: dedupeKey }).first()) as ChangeRow | undefined;
    return row === undefined ? undefined : toChange(row);
  }

  async findExchangeByRequest(owner: string, openId: string, requestId: string): Promise<{ exchange: PointsExchange; record: PointsChange } | undefined> {
    const exchange = (await this.knex(T.exchanges).where({ owner, open_id: openId, request_id: requestId }).first()) as ExchangeRow | undefined;
    if (exchange === undefined) return undefined;
    const record = (await this.knex(T.changes).where('id', exchange.record_id).first()) as ChangeRow | undefined;
    if (record === undefined) throw new Error('exchange without its change record');
    return { exchange: toExchange(exchange), record: toChange(record) };
  }

  private async hasExchangeInPeriod(openId: string, prizeId: string, periodKey: string, db: Knex): Promise<boolean> {
    const row: unknown = await db(T.exchanges).select('id').where({ open_id: openId, prize_id: prizeId, period_key: periodKey }).first();
    return row !== undefined;
  }

  /** Prize ids this user exchanged under any of the given period keys. */
  async exchangedPeriods(openId: string, keys: readonly string[]): Promise<Array<{ prizeId: string; periodKey: string }>> {
    const rows = (await this.knex(T.exchanges).select('prize_id', 'period_key').where('open_id', openId).whereIn('period_key', keys)) as Array<{
      prize_id: string;
      period_key: string;
    }>;
    return rows.map((r) => ({ prizeId: r.prize_id, periodKey: r.period_key }));
  }

  async listChanges(openId: string, exchangesOnly: boolean, beforeId: string | undefined, limit: number): Promise<PointsChange[]> {
    const q = this.knex(`${T.changes} as c`).select('c.*').where('c.open_id', openId).orderBy('c.id', 'desc').limit(limit);
    if (exchangesOnly) q.join(`${T.exchanges} as e`, 'e.record_id', 'c.id');
    if (beforeId !== undefined) q.where('c.id', '<', beforeId);
    return ((await q) as ChangeRow[]).map(toChange);
  }

  /**
   * One keyset page of the exchanges of physical goods after exchange id `afterId`, oldest
   * first: a range read of the (type, id) index (points_exchanges_ship_walk), as cheap at the
   * millionth exchange as at the first, however few of all exchanges are goods.
   */
  async exchangesToShipPage(afterId: number, limit: number): Promise<PointsExchange[]> {
    const rows = (await this.knex(T.exchanges)
      .where('type', 'goods' satisfies PrizeKind)
      .andWhere('id', '>', afterId)
      .orderBy('id', 'asc')
      .limit(limit)) as ExchangeRow[];
    return rows.map(toExchange);
  }

  /**
   * What is left of the lots these credit records granted, unexpired at `now`, by record id;
   * a record not in the map has nothing left (spent or expired). One query over the user's
   * live lots, like the balance's.
   */
  async lotsLeft(openId: string, recordIds: readonly Num[], now: number): Promise<Map<string, bigint>> {
    if (recordIds.length === 0) return new Map();
    const rows = (await this.unexpired(
      this.knex(T.lots).select('record_id', 'remaining').where('open_id', openId).whereIn('record_id', [...recordIds]),
      now,
    )) as Array<{ record_id: Num; remaining: Num }>;
    return new Map(rows.map((r) => [String(r.record_id), big(r.remaining)]));
  }

  async exchangesByRecord(recordIds: readonly string[]): Promise<PointsExchange[]> {
    if (recordIds.length === 0) return [];
    return ((await this.knex(T.exchanges).whereIn('record_id', recordIds)) as ExchangeRow[]).map(toExchange);
  }

  // ---- prizes -----------------------------------------------------------------------------

  /** A prize by id; reads that arrive together (every exchange starts with one) share one query. */
  getPrize(prizeId: string): Promise<PointsPrize | undefined> {
    return this.loadPrize(prizeId);
  }

  private async prizesOf(ids: readonly string[]): Promise<Map<string, PointsPrize>> {
    const rows = (await this.knex(T.prizes).whereIn('prize_id', [...ids])) as PrizeRow[];
    return firstByKey(rows.map(toPrize), (p) => p.prizeId);
  }

  async listPrizes(): Promise<PointsPrize[]> {
    return ((await this.knex(T.prizes).where('disabled', false).orderBy('created_at').orderBy('prize_id')) as PrizeRow[]).map(toPrize);
  }

  /** Inserts a prize; false when the id exists. */
  async insertPrize(prize: PointsPrize): Promise<boolean> {
    try {
      await this.knex(T.prizes).insert(prizeColumns(prize));
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  /**
   * Updates a prize whose total is still `oldTotal`, moving the stock by the change of total in
   * the same statement so concurrent exchanges are never overwritten; 'stock' when the stock
   * would go negative, 'moved' when the total changed meanwhile.
   */
  async updatePrize(prize: PointsPrize, oldTotal: bigint): Promise<'ok' | 'stock' | 'moved'> {
    const row = prizeColumns(prize);
    const delta = prize.total - oldTotal;
    const changed = await this.knex(T.prizes)
      .where('prize_id', row.prize_id)
      .where('total', oldTotal.toString())
      .where('stock', '>=', (-delta).toString())
      .update({
        face_value: row.face_value,
        title: row.title,
        description: row.description,
        icon: row.icon,
        total: row.total,
        stock: this.knex.raw('stock + ?', [delta.toString()]),
        type: row.type,
        exchange_limit: row.exchange_limit,
        disabled: row.disabled,
        updated_at: row.updated_at,
      });
    if (changed === 1) return 'ok';
    const now = await this.getPrize(row.prize_id);
    return now !== undefined && now.total === oldTotal ? 'stock' : 'moved';
  }

  // ---- tasks ------------------------------------------------------------------------------

  async getTask(taskId: string): Promise<PointsTask | undefined> {
    const row = (await this.knex(T.tasks).where('task_id', taskId).first()) as TaskRow | undefined;
    return row === undefined ? undefined : toTask(row);
  }

  async listTasks(): Promise<PointsTask[]> {
    return ((await this.knex(T.tasks).orderBy('created_at').orderBy('task_id')) as TaskRow[]).map(toTask);
  }

  /** The cyclic tasks' rows, for the daily job's resets (ruleOfTask gives each one's cycle). */
  async cyclicTasks(): Promise<TaskRow[]> {
    return (await this.knex(T.tasks).where('type', 'cyclicTask')) as TaskRow[];
  }

  async upsertTask(task: PointsTask): Promise<PointsTask> {
    const row = taskColumns(task);
    const { created_at: _created, ...rest } = row;
    await this.knex(T.tasks).insert(row).onConflict('task_id').merge(rest);
    const saved = await this.getTask(row.task_id);
    if (saved === undefined) throw new Error('saved task vanished');
    return saved;
  }

  async userTasks(openId: string): Promise<UserTaskRow[]> {
    return (await this.knex(T.userTasks).where('open_id', openId)) as UserTaskRow[];
  }

  async getUserTask(openId: string, taskId: string): Promise<UserTaskRow | undefined> {
    return (await this.knex(T.userTasks).where({ open_id: openId, task_id: taskId }).first()) as UserTaskRow | undefined;
  }

  async putUserTask(row: UserTaskRow): Promise<void> {
    const { open_id: _o, task_id: _t, ...rest } = row;
    await this.knex(T.userTasks).insert(row).onConflict(['open_id', 'task_id']).merge(rest);
  }

  /**
   * Marks the task done (from to-claim, in the current cycle) and credits its lot in one
   * transaction; undefined when the task was not claimable. The credit's dedupe key makes a
   * second award in the same cycle impossible.
   */
  async claimTask(openId: string, taskId: string, cycle: string, credit: CreditInput): Promise<PointsChange | undefined> {
    await this.ensureAccount(openId, credit.now);
    const record = await this.tx(async (trx) => {
      const changed = await trx(T.userTasks)
        .where({ open_id: openId, task_id: taskId, cycle_key: cycle, status: 0 })
        .update({ status: 2, updated_at: credit.now });
      if (changed !== 1) return undefined;
      return this.creditIn(trx, credit);
    });
    return record === undefined ? undefined : toChange(record);
  }

  /** Starts a new cycle for every user row of the task still in an older one. */
  async resetTaskCycle(taskId: string, cycle: string, now: number, runDate: string): Promise<number> {
    return this.tx(async (trx) => {
      const reset = await trx(T.userTasks)
        .where('task_id', taskId)
        .whereNot('cycle_key', cycle)
        .update({ cycle_key: cycle, status: 1, complete_num: 0, updated_at: now });
      if (reset > 0) await trx(T.jobRuns).where('run_date', runDate).update({ reset_tasks: trx.raw('reset_tasks + ?', [reset]) });
      return reset;
    });
  }

  // ---- rule -------------------------------------------------------------------------------

  /** The one rule row; reads that arrive together (every credit needs it) share one query. */
  getRule(): Promise<RuleRow | undefined> {
    return this.loadRule(RULE_ID);
  }

  async saveRule(row: RuleRow): Promise<void> {
    await this.knex(T.rules).insert({ id: RULE_ID, ...row }).onConflict('id').merge(row);
  }

  // ---- daily job --------------------------------------------------------------------------

  async startJobRun(runDate: string, now: number): Promise<JobRunRow> {
    await this.knex(T.jobRuns)
      .insert({ run_date: runDate, expire_done: false, tasks_done: false, expired_lots: 0, expired_points: 0, reset_tasks: 0, started_at: now, finished_at: null })
      .onConflict('run_date')
      .ignore();
    const row = (await this.knex(T.jobRuns).where('run_date', runDate).first()) as JobRunRow | undefined;
    if (row === undefined) throw new Error('job run vanished');
    return row;
  }

  async getJobRun(runDate: string): Promise<JobRunRow | undefined> {
    return (await this.knex(T.jobRuns).where('run_date', runDate).first()) as JobRunRow | undefined;
  }

  async markJob(runDate: string, fields: Partial<Pick<JobRunRow, 'expire_done' | 'tasks_done' | 'finished_at'>>): Promise<void> {
    await this.knex(T.jobRuns).where('run_date', runDate).update(fields);
  }

  /**
   * Expires the given due lots (a chunk of walkDue) in one transaction, set-based: a handful
   * of statements whatever the chunk's size, the rows never leaving the database. Every lot
   * gets its expiredTask change record (the same record per lot as one lot at a time wrote:
   * face value, the user's unexpired balance after it, the origin's change id, dedupe key
   * `expire:<lot id>`) and its draw; the lots are zeroed, the accounts debited and the day's
   * counts added. A chunk commits whole or not at all, so a run interrupted anywhere carries
   * on with the lots still due; a lot no longer due (spent or expired meanwhile) is skipped.
   */
  async expireLots(now: number, runDate: string, due: readonly DueLot[]): Promise<{ lots: number; points: bigint }> {
    if (due.length === 0) return { lots: 0, points: 0n };
    const ids = due.map((d) => d.id);
    const users = [...new Set(due.map((d) => d.open_id))].sort();
    return this.tx(async (trx) => {
      // Accounts first, like every other writer of these users' lots: with them held no
      // debit can move a lot of the chunk, and the reads below see every earlier writer. A
      // locking read, not a write: the balance UPDATE below writes them once. (SQLite has one
      // writer at a time anyway.)
      if (this.procedures) await trx(T.accounts).select('open_id').whereIn('open_id', users).forUpdate();
      const marks = ids.map(() => '?').join(',');
      // The chunk's lots still due; every statement below reads exactly these.
      const stillDue = `l.id IN (${marks}) AND l.remaining > 0 AND l.expires_at <= ?`;
      const dueArgs = [...ids, now];
      const expiredBy = (await trx(`${T.lots} as l`)
        .select('l.open_id')
        .count({ n: '*' })
        .sum({ s: 'l.remaining' })
        .whereRaw(stillDue, dueArgs)
        .groupBy('l.open_id')) as Array<{ open_id: string; n: Num; s: Num }>;
      if (expiredBy.length === 0) return { lots: 0, points: 0n };
      const count = expiredBy.reduce((a, r) => a + Number(r.n), 0);
      const points = expiredBy.reduce((a, r) => a + big(r.s), 0n);
      // One record per lot. Balance after: what the user holds unexpired once the chunk is done
      // (due lots never count). No request id: the job's records are nobody's key.
      await trx.raw(
        `INSERT INTO ${T.changes} (owner, open_id, direction, source, face_value, balance_after, description, change_id, prize_type, task_title, created_at, dedupe_key)
         SELECT ?, l.open_id, 2, 'expiredTask', l.remaining,
                (SELECT COALESCE(SUM(u.remaining), 0) FROM ${T.lots} u WHERE u.open_id = l.open_id AND u.remaining > 0 AND (u.expires_at IS NULL OR u.expires_at > ?)),
                '过期积分', COALESCE(o.change_id, ''), 'integral', '', ?, CONCAT('expire:', l.id)
         FROM ${T.lots} l LEFT JOIN ${T.changes} o ON o.id = l.record_id
         WHERE ${stillDue} ORDER BY l.id`,
        [LEGACY_OWNER, now, now, ...dueArgs],
      );
      // Each lot's draw, joined to its record by the unique (open_id, dedupe_key).
      await trx.raw(
        `INSERT INTO ${T.draws} (record_id, lot_id, amount)
         SELECT c.id, l.id, l.remaining FROM ${T.lots} l JOIN ${T.changes} c ON c.open_id = l.open_id AND c.dedupe_key = CONCAT('expire:', l.id)
         WHERE ${stillDue}`,
        dueArgs,
      );
      // Each holder's balance less what expired: an upsert of minus the sums on the accounts'
      // primary key (one lookup a row; a CASE over the chunk's users would compare every row with
      // every user). The accounts exist (a credit makes its account first) and, on MySQL, are
      // held; were one missing, the row made would still say what the journal says.
      const sums = expiredBy.map((r) => ({ open_id: r.open_id, balance: (-big(r.s)).toString(), updated_at: now }));
      await trx(T.accounts)
        .insert(sums)
        .onConflict('open_id')
        .merge({ balance: trx.raw(this.procedures ? 'balance + VALUES(balance)' : 'balance + excluded.balance'), updated_at: now });
      const zeroed = await trx(`${T.lots} as l`).whereRaw(stillDue, dueArgs).update({ remaining: 0 });
      if (zeroed !== count) throw new ConcurrentUpdateError('a points lot');
      await trx(T.jobRuns)
        .where('run_date', runDate)
        .update({
          expired_lots: trx.raw('expired_lots + ?', [count]),
          expired_points: trx.raw(`expired_points + ${points.toString()}`),
        });
      return { lots: count, points };
    });
  }

  /**
   * The next due lots (remaining > 0, expires_at <= now) after the cursor in (expires_at, id) order, walking the index on
   * expires_at (whose entries carry the id): first the rest of the cursor's instant, by
   * equality on expires_at and a range on id, then the later instants. One range over
   * "(expires_at, id) > cursor" would restart at the instant's first entry every chunk, and
   * lots granted together expire together (a million at one instant is normal).
   */
  async walkDue(now: number, after: ExpiryCursor | undefined, limit: number): Promise<{ due: DueLot[]; cursor: ExpiryCursor | undefined }> {
    const walk = (): Knex.QueryBuilder =>
      this.knex(T.lots).select('id', 'open_id', 'expires_at').where('remaining', '>', 0).orderBy('expires_at').orderBy('id').limit(limit);
    let due: DueLot[];
    if (after === undefined) due = (await walk().where('expires_at', '<=', now)) as DueLot[];
    else {
      due = (await walk().where('expires_at', after.expiresAt).where('id', '>', after.id)) as DueLot[];
      if (due.length < limit) {
        const later = (await walk()
          .where('expires_at', '>', after.expiresAt)
          .where('expires_at', '<=', now)
          .limit(limit - due.length)) as DueLot[];
        due = [...due, ...later];
      }
    }
    const last = due[due.length - 1];
    return { due, cursor: last === undefined ? after : { expiresAt: num(last.expires_at), id: String(last.id) } };
  }

  /** Adds a call's working time to the day's run. */
  async addJobDuration(runDate: string, ms: number): Promise<void> {
    await this.knex(T.jobRuns)
      .where('run_date', runDate)
      .update({ duration_ms: this.knex.raw('COALESCE(duration_ms, 0) + ?', [Math.max(0, Math.round(ms))]) });
  }
}
