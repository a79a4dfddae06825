/** The rules of the membership system; no gRPC, no HTTP, time from the injected clock. */
import { TtlCache } from '../platform/cache.js';
import { requireIdentifier } from '../platform/identifier.js';
import { randomBytes } from 'node:crypto';
import type { Clock } from '../platform/clock.js';
import type { Locks } from '../platform/locks.js';
import { LEGACY_OWNER, type KeyOwner } from '../platform/owner.js';
import {
  ApiClosedError,
  BalanceLimitError,
  errors,
  InsufficientCpointError,
  LegacyAppNotFoundError,
  OrderNotFoundError,
  OrderNotPaidError,
  OrderNotRevocableError,
} from './errors.js';
import { formatHundredths, parseCap, parseHundredths, toInt } from './money.js';
import type { Actor, ApiSwitch, CpointOrder, Grade, LegacyApp, Task, User } from './model.js';
import { cycleOf, formatSteps, judgeTask, parseSteps, validateGrades } from './rules.js';
import { ORDER_UNPAID, type MemberStore, type StoredRefusal, type TaskOutcome } from './store.js';

export const SERVICE_PATH = '/huodong.member.v1.MemberService/';
/** RPCs the kill switch never closes, so an operator can always open the others again. */
/**
 * RPCs the kill switch cannot close: the switch itself, so it can always be opened again, and
 * GetLegacyApp, the REST bridge's signing-key lookup (closing it made every legacy route 401).
 */
export const UNSWITCHABLE = new Set(['SetApiSwitch', 'ListApiSwitches', 'GetLegacyApp']);
export const MAX_BATCH_UIDS = 100;
export const MAX_LIMIT = 100;
export const DEFAULT_LIMIT = 20;
const MAX_PAGE = 100_000;
const MAX_TIMES = 1000;
/** How long the kill switches are cached unless HUODONG_MEMBER_SWITCH_CACHE_TTL_MS says otherwise. */
export const DEFAULT_SWITCH_CACHE_MS = 1_000;

/** Who calls: the owner of the call's keys, and the journal's `source`. */
export interface Caller {
  readonly owner: KeyOwner;
  readonly source: string;
}

/** The token of a sorted listing's next page: the order and the last row's (value, uid). */
function sortToken(field: SortField, direction: 'asc' | 'desc', value: number, uid: string): string {
  return Buffer.from(`u:${field}:${direction}:${value}:${uid}`, 'utf8').toString('base64url');
}

function parseSortToken(token: string, field: SortField, direction: 'asc' | 'desc'): { value: number; uid: string } {
  const match = /^u:(score|cpoint|grade):(asc|desc):(-?\d{1,16}):(.+)$/s.exec(Buffer.from(token, 'base64url').toString('utf8'));
  const value = Number(match?.[3]);
  if (match === null || !Number.isSafeInteger(value)) throw errors.invalid('page_token', 'is not a token from a previous page');
  if (match[1] !== field || match[2] !== direction) {
    throw errors.invalid('page_token', 'belongs to another sort_field or sort_order');
  }
  return { value, uid: match[4] as string };
}

/** A stored answer that is a refusal becomes that error again. */
function throwIfRefused(response: unknown): void {
  const refused = (response as Partial<StoredRefusal> | null)?.refused;
  if (refused === 'INSUFFICIENT_CPOINT') throw new InsufficientCpointError();
  if (refused === 'BALANCE_LIMIT') throw new BalanceLimitError();
}

export function validateUid(raw: string | undefined, field = 'uid'): string {
  return requireIdentifier(raw, field, { errors, max: 64, ascii: true });
}

export function validateKey(raw: string | undefined, field: string): string {
  const key = raw?.trim() ?? '';
  if (key === '') throw errors.invalid(field, 'is required');
  if (key.length > 128 || !/^[\x21-\x7e]+$/.test(key)) {
    throw errors.invalid(field, 'must be 1..128 printable ASCII characters');
  }
  return key;
}

function validateText(raw: string | undefined, field: string, max: number, required = false): string {
  const text = raw ?? '';
  if (required && text.trim() === '') throw errors.invalid(field, 'is required');
  if ([...text].length > max) throw errors.invalid(field, `must be at most ${max} characters`);
  return text;
}

function validateFlag(value: number, field: string): number {
  if (value !== 0 && value !== 1) throw errors.invalid(field, 'must be 0 or 1');
  return value;
}

function validateInt(value: number, field: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw errors.invalid(field, `must be an integer in ${min}..${max}`);
  }
  return value;
}

/** The task fields as the API carries them (decimal strings for amounts). */
export interface TaskInput {
  readonly id: number;
  readonly op: string;
  readonly name: string;
  readonly desc: string;
  readonly score: string;
  readonly cpoint: string;
  readonly stepScore: string;
  readonly stepCpoint: string;
  readonly status: number;
  readonly sTime?: Date | undefined;
  readonly eTime?: Date | undefined;
  /** Seed defaults apply when unset: -1, -1, 1, 1 and -1. */
  readonly sGrade?: number | undefined;
  readonly eGrade?: number | undefined;
  readonly batch?: number | undefined;
  readonly repeat?: number | undefined;
  readonly rFlag: number;
  readonly rRatio: number;
  readonly rCount?: number | undefined;
  readonly rCpoint: string;
  readonly rScore: string;
  readonly rFilter: number;
  readonly rStep: number;
}

/** Validates a task as sent by UpdateTaskConfig; every field is checked, nothing is guessed. */
export function parseTask(input: TaskInput, uTime: number): Task {
  const op = input.op.trim();
  if (op === '' || op.length > 64 || !/^[\w.:-]+$/.test(op)) {
    throw errors.invalid('task.op', 'must be 1..64 letters, digits, "_", ".", ":" or "-"');
  }
  const seconds = (at: Date | undefined, field: string): number =>
    at === undefined ? 0 : validateInt(Math.floor(at.getTime() / 1000), field, 1, 2 ** 40);
  const sTime = seconds(input.sTime, 'task.s_time');
  const eTime = seconds(input.eTime, 'task.e_time');
  if (sTime > 0 && eTime > 0 && eTime < sTime) throw errors.invalid('task.e_time', 'must not be before s_time');
  const sGrade = validateInt(input.sGrade ?? -1, 'task.s_grade', -1, 1000);
  const eGrade = validateInt(input.eGrade ?? -1, 'task.e_grade', -1, 1000);
  if (sGrade >= 0 && eGrade >= 0 && eGrade < sGrade) throw errors.invalid('task.e_grade', 'must not be below s_grade');
  const rFlag = validateInt(input.rFlag, 'task.r_flag', 0, 2);
  return {
    id: validateInt(input.id, 'task.id', 1, 2_000_000_000),
    op,
    name: validateText(input.name, 'task.name', 128),
    desc: validateText(input.desc, 'task.desc', 512),
    score: parseHundredths(input.score === '' ? '0' : input.score, 'task.score', { allowZero: true }),
    cpoint: parseHundredths(input.cpoint === '' ? '0' : input.cpoint, 'task.cpoint', { allowZero: true }),
    stepScore: parseSteps(input.stepScore, 'task.step_score'),
    stepCpoint: parseSteps(input.stepCpoint, 'task.step_cpoint'),
    status: validateFlag(input.status, 'task.status'),
    sTime,
    eTime,
    sGrade,
    eGrade,
    batch: validateFlag(input.batch ?? 1, 'task.batch'),
    repeat: validateFlag(input.repeat ?? 1, 'task.repeat'),
    rFlag,
    rRatio: validateInt(input.rRatio, 'task.r_ratio', 0, 10_000),
    rCount: validateInt(input.rCount ?? -1, 'task.r_count', -1, 1_000_000_000),
    rCpoint: parseCap(input.rCpoint, 'task.r_cpoint'),
    rScore: parseCap(input.rScore, 'task.r_score'),
    rFilter: validateFlag(input.rFilter, 'task.r_filter'),
    rStep: validateFlag(input.rStep, 'task.r_step'),
    uTime,
  };
}

function taskToRow(task: Task): Record<string, unknown> {
  return {
    id: task.id,
    op: task.op,
    name: task.name,
    desc: task.desc,
    score: task.score,
    cpoint: task.cpoint,
    step_score: formatSteps(task.stepScore),
    step_cpoint: formatSteps(task.stepCpoint),
    status: task.status,
    s_time: task.sTime,
    e_time: task.eTime,
    s_grade: task.sGrade,
    e_grade: task.eGrade,
    batch: task.batch,
    repeat: task.repeat,
    r_flag: task.rFlag,
    r_ratio: task.rRatio,
    r_count: task.rCount,
    r_cpoint: task.rCpoint,
    r_score: task.rScore,
    r_filter: task.rFilter,
    r_step: task.rStep,
    u_time: task.uTime,
  };
}

export function taskFromRow(row: Record<string, unknown>): Task {
  return {
    id: toInt(row.id),
    op: String(row.op),
    name: String(row.name),
    desc: String(row.desc),
    score: toInt(row.score),
    cpoint: toInt(row.cpoint),
    stepScore: parseSteps(String(row.step_score), 'step_score'),
    stepCpoint: parseSteps(String(row.step_cpoint), 'step_cpoint'),
    status: toInt(row.status),
    sTime: toInt(row.s_time),
    eTime: toInt(row.e_time),
    sGrade: toInt(row.s_grade),
    eGrade: toInt(row.e_grade),
    batch: toInt(row.batch),
    repeat: toInt(row.repeat),
    rFlag: toInt(row.r_flag),
    rRatio: toInt(row.r_ratio),
    rCount: toInt(row.r_count),
    rCpoint: toInt(row.r_cpoint),
    rScore: toInt(row.r_score),
    rFilter: toInt(row.r_filter),
    rStep: toInt(row.r_step),
    uTime: toInt(row.u_time),
  };
}

export type SortField = 'score' | 'cpoint' | 'grade';

export interface TaskResult {
  readonly code: 0 | 1 | 2;
  readonly rule: string;
  readonly cpoint: number;
  readonly score: number;
  readonly user: User;
  readonly grades: readonly Grade[];
}

export interface MemberServiceDeps {
  readonly store: MemberStore;
  readonly locks: Locks;
  readonly clock: Clock;
  readonly timeZone: string;
  /** How long the kill switches are cached (HUODONG_MEMBER_SWITCH_CACHE_TTL_MS); 0 reads them on every call. */
  readonly switchCacheMs?: number;
}

export class MemberService {
  private readonly store: MemberStore;
  private readonly locks: Locks;
  private readonly clock: Clock;
  private readonly timeZone: string;
  /** The closed RPCs, under one key; a switch set by this instance drops it. */
  private readonly closed: TtlCache<'closed', ReadonlySet<string>>;

  constructor(deps: MemberServiceDeps) {
    this.store = deps.store;
    this.locks = deps.locks;
    this.clock = deps.clock;
    this.timeZone = deps.timeZone;
    this.closed = new TtlCache(deps.clock, { max: 1, ttlMs: deps.switchCacheMs ?? DEFAULT_SWITCH_CACHE_MS });
  }

  private nowSec(): number {
    return Math.floor(this.clock.now().getTime() / 1000);
  }

  private withUserLock<R>(uid: string, fn: () => Promise<R>): Promise<R> {
    // The database guards every balance (conditional updates, unique order ids), so with Redis
    // down the call goes on without the lock.
    return this.locks.withLock(`member:user:${uid}`, fn, { busy: errors.lockBusy, ifUnavailable: 'proceed' });
  }

  async getCpoint(uidRaw: string): Promise<string> {
    const user = await this.store.getUser(validateUid(uidRaw));
    return formatHundredths(user.cpoint);
  }

  /** An admin credit or debit, once per request id; answers the balance after. */
  async adminAdjust(
    kind: 'admin_add' | 'admin_reduce',
    input: { requestId: string; uid: string; cpoint: string; adminId: string; note: string },
    { owner, source }: Caller,
  ): Promise<string> {
    const requestId = validateKey(input.requestId, 'request_id');
    const uid = validateUid(input.uid);
    const amount = parseHundredths(input.cpoint, 'cpoint');
    const adminId = validateUid(input.adminId, 'admin_id');
    const note = validateText(input.note, 'note', 255);
    const fingerprint = JSON.stringify([uid, amount, adminId, note]);
    const replay = async (): Promise<string | undefined> => {
      const stored = await this.store.getRequest(owner.id, kind, requestId);
      if (stored === undefined) return undefined;
      if (stored.fingerprint !== fingerprint) throw errors.keyReused('request_id');
      const response: unknown = JSON.parse(stored.response);
      throwIfRefused(response);
      return formatHundredths((response as { cpoint: number }).cpoint);
    };
    const first = await replay();
    if (first !== undefined) return first;
    return this.withUserLock(uid, async () => {
      const actor: Actor = { source, operator: adminId, note };
      const balance = await this.store.adminAdjust(
        { owner: owner.id, kind, requestId, fingerprint, uid, amount: kind === 'admin_add' ? amount : -amount },
        actor,
        this.nowSec(),
      );
      if (balance !== undefined) return formatHundredths(balance);
      const stored = await replay();
      if (stored === undefined) throw errors.conflict('concurrent request, retry');
      return stored;
    });
  }

  /**
   * Pays an order once per (owner, order id); a replay answers the first result: the balance
   * right after the payment, or the refusal for lack of c-points, which is final (paying later
   * takes a new order id).
   */
  async consume(input: { orderId: string; uid: string; cpoint: string }, { owner, source }: Caller): Promise<{ orderId: string; cpoint: string }> {
    const orderId = validateKey(input.orderId, 'order_id');
    const uid = validateUid(input.uid);
    const amount = parseHundredths(input.cpoint, 'cpoint');
    return this.withUserLock(uid, async () => {
      // Pay first (the common case costs no extra read); a taken order id is then settled by
      // reading the stored order.
      const outcome = await this.store.payOrder({ owner: owner.id, orderId, uid, amount }, { source, operator: '', note: '' }, this.nowSec());
      if (typeof outcome === 'number') return { orderId, cpoint: formatHundredths(outcome) };
      if (outcome === 'insufficient') throw new InsufficientCpointError();
      const stored = await this.store.getOrder(owner.id, orderId);
      // Orders are never deleted, so a taken id is there to read.
      if (stored === undefined) throw errors.conflict('concurrent payment of the same order, retry');
      if (stored.uid !== uid || stored.cpoint !== amount) throw errors.keyReused('order_id');
      if (stored.status === ORDER_UNPAID) throw new InsufficientCpointError();
      return { orderId, cpoint: formatHundredths(stored.balanceAfter ?? 0) };
    });
  }

  /** The caller's order, else (for an app that may) the order of before owners, if either exists. */
  private async visibleOrder(owner: KeyOwner, orderId: string): Promise<CpointOrder & { owner: string } | undefined> {
    const own = await this.store.getOrder(owner.id, orderId);
    if (own !== undefined) return { ...own, owner: owner.id };
    if (!owner.seesLegacy) return undefined;
    const legacy = await this.store.getOrder(LEGACY_OWNER, orderId);
    return legacy === undefined ? undefined : { ...legacy, owner: LEGACY_OWNER };
  }

  /** True when the order was paid by this user (revoked orders were paid too). */
  async checkConsume(orderIdRaw: string, uidRaw: string, { owner }: Caller): Promise<boolean> {
    const orderId = validateKey(orderIdRaw, 'order_id');
    const uid = validateUid(uidRaw);
    const order = await this.visibleOrder(owner, orderId);
    return order !== undefined && order.uid === uid && order.status !== ORDER_UNPAID;
  }

  async revoke(input: { orderId: string; uid: string; cpoint: string }, { owner, source }: Caller): Promise<{ orderId: string; cpoint: string }> {
    const orderId = validateKey(input.orderId, 'order_id');
    const uid = validateUid(input.uid);
    const amount = parseHundredths(input.cpoint, 'cpoint');
    return this.withUserLock(uid, async () => {
      // Only an app that may see orders of before owners reads first, to learn whose it is.
      const target = owner.seesLegacy ? ((await this.visibleOrder(owner, orderId))?.owner ?? owner.id) : owner.id;
      const balance = await this.store.revokeOrder(target, orderId, uid, amount, { source, operator: '', note: '' }, this.nowSec());
      if (balance !== false) return { orderId, cpoint: formatHundredths(balance) };
      const order = await this.store.getOrder(target, orderId);
      if (order === undefined || order.uid !== uid) throw new OrderNotFoundError();
      if (order.status === ORDER_UNPAID) throw new OrderNotPaidError();
      if (order.status !== 2) throw new OrderNotRevocableError('already revoked');
      throw new OrderNotRevocableError(`at most ${formatHundredths(order.cpoint)} can be refunded`);
    });
  }

  async listOrders(uidRaw: string, pageSize: number, pageToken: string, { owner }: Caller): Promise<{ orders: CpointOrder[]; nextPageToken: string }> {
    const uid = validateUid(uidRaw);
    const limit = pageSize === 0 ? DEFAULT_LIMIT : validateInt(pageSize, 'page_size', 1, MAX_LIMIT);
    let beforeId: number | undefined;
    if (pageToken !== '') {
      const match = /^o:(\d{1,15})$/.exec(Buffer.from(pageToken, 'base64url').toString('utf8'));
      if (match === null) throw errors.invalid('page_token', 'is not a token from a previous page');
      beforeId = Number(match[1]);
    }
    const owners = owner.seesLegacy ? [owner.id, LEGACY_OWNER] : [owner.id];
    const rows = await this.store.listOrders(owners, uid, beforeId, limit + 1);
    const orders = rows.slice(0, limit);
    const last = orders[orders.length - 1];
    const nextPageToken = rows.length > limit && last !== undefined ? Buffer.from(`o:${last.id}`).toString('base64url') : '';
    return { orders, nextPageToken };
  }

  async listTasks(): Promise<Task[]> {
    return (await this.store.listTasks()).map(taskFromRow);
  }

  async updateTask(input: TaskInput): Promise<Task> {
    const task = parseTask(input, this.nowSec());
    if (!(await this.store.upsertTask(taskToRow(task)))) {
      throw errors.invalid('task.op', `op "${task.op}" belongs to another task`);
    }
    return task;
  }

  listGrades(): Promise<Grade[]> {
    return this.store.listGrades();
  }

  async updateGrades(input: ReadonlyArray<{ grade: number; score: string }>): Promise<Grade[]> {
    const grades = validateGrades(
      input.map((g) => ({ grade: g.grade, score: parseHundredths(g.score, 'grades.score', { allowZero: true }) })),
    );
    await this.store.replaceGrades(grades);
    return grades;
  }

  async batchGetUserInfo(uidsRaw: readonly string[]): Promise<User[]> {
    if (uidsRaw.length === 0) throw errors.invalid('uids', 'at least one uid is required');
    if (uidsRaw.length > MAX_BATCH_UIDS) throw errors.invalid('uids', `at most ${MAX_BATCH_UIDS} uids`);
    const uids = uidsRaw.map((u) => validateUid(u, 'uids'));
    // Through the point-read loader, so concurrent batches and single reads share queries.
    const unique = [...new Set(uids)];
    const users = await Promise.all(unique.map((uid) => this.store.getUser(uid)));
    const found = new Map(unique.map((uid, i) => [uid, users[i]]));
    return uids.map((uid) => found.get(uid) ?? { uid, cpoint: 0, score: 0, grade: 0 });
  }

  /**
   * One page of users by a field. With a page token, the page after the row it names: a keyset
   * seek on the (field, uid) index, the same cost at any depth. Without one, the legacy page
   * number (the REST bridge's listSortInfo), whose cost grows with its offset. Either way the
   * answer names the next page by its last row.
   */
  async listUsersSorted(
    field: SortField,
    direction: 'asc' | 'desc',
    pageRaw: number,
    limitRaw: number,
    pageToken = '',
  ): Promise<{ users: User[]; nextPageToken: string }> {
    const limit = limitRaw === 0 ? DEFAULT_LIMIT : validateInt(limitRaw, 'limit', 1, MAX_LIMIT);
    let rows: User[];
    if (pageToken !== '') {
      if (pageRaw !== 0 && pageRaw !== 1) throw errors.invalid('page', 'must be 0 or 1 with a page_token');
      const after = parseSortToken(pageToken, field, direction);
      rows = await this.store.listUsersSortedAfter(field, direction, after, limit + 1);
    } else {
      const page = pageRaw === 0 ? 1 : validateInt(pageRaw, 'page', 1, MAX_PAGE);
      rows = await this.store.listUsersSorted(field, direction, (page - 1) * limit, limit + 1);
    }
    const users = rows.slice(0, limit);
    const last = users[users.length - 1];
    const nextPageToken = rows.length > limit && last !== undefined ? sortToken(field, direction, last[field], last.uid) : '';
    return { users, nextPageToken };
  }

  /** Applies every task rule to one submission, once per request id. */
  async submitTask(
    input: { requestId: string; uid: string; op: string; target: string; times: number },
    { owner, source }: Caller,
  ): Promise<TaskResult> {
    const requestId = validateKey(input.requestId, 'request_id');
    const uid = validateUid(input.uid);
    const op = input.op.trim();
    if (op === '' || op.length > 64) throw errors.invalid('op', 'must be 1..64 characters');
    const target = validateText(input.target, 'target', 128);
    const times = input.times === 0 ? 1 : validateInt(input.times, 'times', 1, MAX_TIMES);
    const fingerprint = JSON.stringify([uid, op, target, times]);
    // A new submission writes its grade from the table its own transaction reads (store.submitTask);
    // a replay answers with the table as it is now.
    const fromStored = (response: string, grades: readonly Grade[]): TaskResult => {
      const parsed: unknown = JSON.parse(response);
      throwIfRefused(parsed);
      // A stored answer is a task outcome, or code 2 (no task had the op) with the user then.
      const outcome = parsed as TaskOutcome | { verdict: { code: 2 }; user: User };
      const v = outcome.verdict;
      if (v.code === 0) return { code: 0, rule: '', cpoint: v.cpoint, score: v.score, user: outcome.user, grades };
      if (v.code === 2) return { code: 2, rule: 'op', cpoint: 0, score: 0, user: outcome.user, grades };
      return { code: 1, rule: v.rule, cpoint: 0, score: 0, user: outcome.user, grades };
    };
    const replay = async (): Promise<TaskResult | undefined> => {
      const stored = await this.store.getRequest(owner.id, 'task', requestId);
      if (stored === undefined) return undefined;
      if (stored.fingerprint !== fingerprint) throw errors.keyReused('request_id');
      return fromStored(stored.response, await this.store.listGrades());
    };
    const row = await this.store.taskByOp(op);
    if (row === undefined) {
      // No task has this op: that answer is final too, so a replay after such a task is
      // created does not award it.
      const first = await replay();
      if (first !== undefined) return first;
      const [user, grades] = await Promise.all([this.store.getUser(uid), this.store.listGrades()]);
      const answer = JSON.stringify({ verdict: { code: 2 }, user });
      if (await this.store.recordTaskAnswer({ owner: owner.id, requestId, fingerprint }, answer, this.nowSec())) {
        return { code: 2, rule: 'op', cpoint: 0, score: 0, user, grades };
      }
      const stored = await replay();
      if (stored === undefined) throw errors.conflict('concurrent request, retry');
      return stored;
    }
    const task = taskFromRow(row);
    const first = await replay();
    if (first !== undefined) return first;
    const nowMs = this.clock.now().getTime();
    const now = Math.floor(nowMs / 1000);
    const cycle = cycleOf(nowMs, task.rFlag, task.rRatio, this.timeZone);
    return this.withUserLock(uid, async () => {
      const written = await this.store.submitTask(
        { owner: owner.id, requestId, fingerprint, uid, task, cycle, target },
        (state) => judgeTask(task, state, times, now),
        { source, operator: '', note: '' },
        now,
      );
      if (written !== undefined) return fromStored(JSON.stringify(written.outcome), written.grades);
      const stored = await replay();
      if (stored === undefined) throw errors.conflict('concurrent request, retry');
      return stored;
    });
  }


  /** The kill switch: refuses a closed MemberService RPC before its handler runs. */
  async guard(path: string): Promise<void> {
    if (!path.startsWith(SERVICE_PATH)) return;
    const method = path.slice(SERVICE_PATH.length);
    if (UNSWITCHABLE.has(method)) return;
    const closed = await this.closedMethods();
    if (closed.has(method)) throw new ApiClosedError(method);
  }

  /** The closed RPCs, cached briefly; one refresh at a time, however many calls wait on it. */
  private closedMethods(): Promise<ReadonlySet<string>> {
    return this.closed.getOrLoad('closed', async () => {
      const switches = await this.store.listSwitches();
      return new Set(switches.filter((s) => s.closed).map((s) => s.method));
    });
  }

  async setSwitch(methodRaw: string, closed: boolean, by: string, known: ReadonlySet<string>): Promise<ApiSwitch> {
    const method = methodRaw.trim();
    if (!known.has(method)) throw errors.invalid('method', 'must be a MemberService RPC name, e.g. "ConsumeCpoint"');
    if (UNSWITCHABLE.has(method)) throw errors.invalid('method', `${method} cannot be closed`);
    const now = this.nowSec();
    await this.store.setSwitch(method, closed, by, now);
    // A read begun before this write must not be cached over it (the cache's generation).
    this.closed.delete('closed');
    return { method, closed, updatedBy: by, updatedAt: now };
  }

  listSwitches(): Promise<ApiSwitch[]> {
    return this.store.listSwitches();
  }

  async createLegacyApp(appNameRaw: string, admin: boolean): Promise<LegacyApp> {
    const appName = appNameRaw.trim();
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(appName)) {
      throw errors.invalid('app_name', 'must be 1..64 letters, digits, "_", "." or "-"');
    }
    const secret = randomBytes(32).toString('hex');
    await this.store.putLegacyApp(appName, secret, admin, this.nowSec());
    return { appName, secret, admin };
  }

  async getLegacyApp(appNameRaw: string): Promise<LegacyApp> {
    const appName = appNameRaw.trim();
    if (appName === '' || appName.length > 64) throw errors.invalid('app_name', 'must be 1..64 characters');
    const app = await this.store.getLegacyApp(appName);
    if (app === undefined) throw new LegacyAppNotFoundError();
    return app;
  }
}
