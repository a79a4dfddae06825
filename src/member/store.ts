/**
 * All SQL of the member area. Balances move only through conditional UPDATEs checked by
 * affected rows, inside one transaction with their journal row and the order or request row
 * whose unique key makes the change happen once.
 */
import type { Knex } from 'knex';
import { createBatcher } from '../platform/batch.js';
import { isUniqueViolation, retryConflicts, type Database, type Dialect } from '../platform/db.js';
import { callRoutine } from '../platform/routines.js';
import { BalanceLimitError, InsufficientCpointError, TaskConflictError } from './errors.js';
import { ORDER_CONSUMED, ORDER_REVOKED, ORDER_UNPAID, T } from './migrations.js';
import { PAY_ORDER } from './routines.js';
import { MAX_BALANCE, toInt } from './money.js';
import type { Actor, ApiSwitch, CpointOrder, Grade, LegacyApp, Task, User } from './model.js';
import type { TaskState, Verdict } from './rules.js';

/** The progress row holding a task's all-time totals (no real cycle number is this low). */
export const ALL_TIME = -1_000_000_000;

export { ORDER_CONSUMED, ORDER_REVOKED, ORDER_UNPAID };

/** An order to pay; its id is unique per owner (platform/owner.ts). */
export interface OrderPayment {
  readonly owner: string;
  readonly orderId: string;
  readonly uid: string;
  readonly amount: number;
}

/**
 * A refusal stored as a request key's answer (in member_requests.response), so that a replay,
 * however late, gets it too instead of running again.
 */
export interface StoredRefusal {
  readonly refused: 'INSUFFICIENT_CPOINT' | 'BALANCE_LIMIT';
}

/** The refusals that are a request's final answer: they depend on balances that move. */
function refusalOf(err: unknown): StoredRefusal | undefined {
  if (err instanceof InsufficientCpointError) return { refused: 'INSUFFICIENT_CPOINT' };
  if (err instanceof BalanceLimitError) return { refused: 'BALANCE_LIMIT' };
  return undefined;
}

export interface StoredRequest {
  readonly fingerprint: string;
  readonly response: string;
}

export interface TaskOutcome {
  readonly verdict: Verdict;
  readonly user: User;
}

type Row = Record<string, unknown>;

/** The journal's who-columns, cut to their widths. */
function journalActorColumns(actor: Actor): Actor {
  return { source: actor.source.slice(0, 64), operator: actor.operator.slice(0, 64), note: actor.note.slice(0, 255) };
}

/** Signals a rollback whose outcome the caller handles (not an error to report). */
class RollbackError<T> extends Error {
  constructor(readonly value: T) {
    super('rollback');
  }
}

function toOrder(row: Row): CpointOrder {
  return {
    id: toInt(row.id),
    orderId: String(row.order_id),
    uid: String(row.uid),
    cpoint: toInt(row.cpoint),
    status: toInt(row.status),
    revokedCpoint: toInt(row.revoked_cpoint),
    balanceAfter: row.balance_after === null || row.balance_after === undefined ? undefined : toInt(row.balance_after),
    createdAt: toInt(row.created_at),
    updatedAt: toInt(row.updated_at),
  };
}

function toUser(row: Row | undefined, uid: string): User {
  if (row === undefined) return { uid, cpoint: 0, score: 0, grade: 0 };
  return { uid: String(row.uid), cpoint: toInt(row.cpoint), score: toInt(row.score), grade: toInt(row.grade) };
}

export class MemberStore {
  /** Point reads arriving together share one `uid IN (...)` query. */
  private readonly loadUser: (uid: string) => Promise<User | undefined>;

  private readonly knex: Knex;
  private readonly dialect: Dialect;

  constructor(db: Database) {
    this.knex = db.knex;
    this.dialect = db.dialect;
    this.loadUser = createBatcher((uids) => this.getUsers(uids), { keyOf: (uid) => uid });
  }

  async getUser(uid: string): Promise<User> {
    return (await this.loadUser(uid)) ?? toUser(undefined, uid);
  }

  async getUsers(uids: readonly string[]): Promise<Map<string, User>> {
    const rows = (await this.knex(T.users).select('uid', 'cpoint', 'score', 'grade').whereIn('uid', [...uids])) as Row[];
    return new Map(rows.map((r) => [String(r.uid), toUser(r, String(r.uid))]));
  }

  async listUsersSorted(field: 'score' | 'cpoint' | 'grade', direction: 'asc' | 'desc', offset: number, limit: number): Promise<User[]> {
    const rows = (await this.knex(T.users)
      .select('uid', 'cpoint', 'score', 'grade')
      .orderBy([
        { column: field, order: direction },
        { column: 'uid', order: direction },
      ])
      .offset(offset)
      .limit(limit)) as Row[];
    return rows.map((r) => toUser(r, String(r.uid)));
  }

  /** The rows after (value, uid) in the listing's order (keyset paging). */
  async listUsersSortedAfter(
    field: 'score' | 'cpoint' | 'grade',
    direction: 'asc' | 'desc',
    after: { value: number; uid: string },
    limit: number,
  ): Promise<User[]> {
    const rows = (await this.usersSortedAfter(field, direction, after, limit)) as Row[];
    return rows.map((r) => toUser(r, String(r.uid)));
  }

  /**
   * A range seek on the (field, uid) index, read in its order. SQLite turns a row-value
   * comparison into that range; MariaDB does not (it filters a row comparison), but it does
   * merge `field < v OR (field = v AND uid < u)` into one range of the index.
   */
  usersSortedAfter(
    field: 'score' | 'cpoint' | 'grade',
    direction: 'asc' | 'desc',
    after: { value: number; uid: string },
    limit: number,
  ): Knex.QueryBuilder {
    const beyond = direction === 'desc' ? '<' : '>';
    const query = this.knex(T.users).select('uid', 'cpoint', 'score', 'grade');
    if (this.dialect === 'sqlite') {
      query.whereRaw(`(??, ??) ${beyond} (?, ?)`, [field, 'uid', after.value, after.uid]);
    } else {
      query.where((q) => {
        q.where(field, beyond, after.value).orWhere((tie) => tie.where(field, '=', after.value).andWhere('uid', beyond, after.uid));
      });
    }
    return query
      .orderBy([
        { column: field, order: direction },
        { column: 'uid', order: direction },
      ])
      .limit(limit);
  }

  /** The SQL plan of the sorted listing, for the test that proves it walks an index. */
  explainUsersSorted(field: 'score' | 'cpoint' | 'grade', direction: 'asc' | 'desc'): Knex.QueryBuilder {
    return this.knex(T.users)
      .select('uid', 'cpoint', 'score', 'grade')
      .orderBy([
        { column: field, order: direction },
        { column: 'uid', order: direction },
      ])
      .limit(20);
  }

  async getOrder(owner: string, orderId: string): Promise<CpointOrder | undefined> {
    const row = (await this.knex(T.orders).where({ owner, order_id: orderId }).first()) as Row | undefined;
    return row === undefined ? undefined : toOrder(row);
  }

  /** Newest first, keyset-paged by the internal id; the orders of the given owners only. */
  async listOrders(owners: readonly string[], uid: string, beforeId: number | undefined, limit: number): Promise<CpointOrder[]> {
    const query = this.knex(T.orders).whereIn('owner', [...owners]).andWhere({ uid });
    if (beforeId !== undefined) query.andWhere('id', '<', beforeId);
    const rows = (await query.orderBy('id', 'desc').limit(limit)) as Row[];
    return rows.map(toOrder);
  }

  /**
   * Creates the user's row if it is missing (the one statement that inserts users; the MySQL
   * payment procedure only updates them). A new user has 0 experience, which may already reach
   * a grade (a table such as {1: 0, 2: 100}); the INSERT reads that grade from the grade table
   * itself, so the row is never stored below the grade its experience reaches.
   */
  private async ensureUser(trx: Knex.Transaction, uid: string, now: number): Promise<void> {
    const gradeOfNoExperience = trx.raw("(SELECT COALESCE(MAX(grade), 0) FROM ?? WHERE score <= 0)", [T.grades]);
    await trx(T.users).insert({ uid, cpoint: 0, score: 0, grade: gradeOfNoExperience, updated_at: now }).onConflict('uid').ignore();
  }

  private async debit(trx: Knex.Transaction, uid: string, amount: number, now: number): Promise<boolean> {
    const changed = await trx(T.users)
      .where({ uid })
      .andWhere('cpoint', '>=', amount)
      .update({ cpoint: trx.raw('cpoint - ?', [amount]), updated_at: now });
    return changed === 1;
  }

  /** The conditional debit that also answers the balance after (no extra SELECT); undefined when short. */
  private async debitReturning(trx: Knex.Transaction, uid: string, amount: number, now: number): Promise<number | undefined> {
    if (this.dialect === 'mysql') {
      // LAST_INSERT_ID(expr) hands the new balance back in the statement's OK packet.
      const [result] = (await trx.raw(`UPDATE ${T.users} SET cpoint = LAST_INSERT_ID(cpoint - ?), updated_at = ? WHERE uid = ? AND cpoint >= ?`, [
        amount,
        now,
        uid,
        amount,
      ])) as [{ affectedRows: number; insertId: number | string }];
      return result.affectedRows === 1 ? toInt(result.insertId) : undefined;
    }
    const rows = (await trx(T.users)
      .where({ uid })
      .andWhere('cpoint', '>=', amount)
      .update({ cpoint: trx.raw('cpoint - ?', [amount]), updated_at: now }, ['cpoint'])) as Row[];
    const row = rows[0];
    return rows.length === 1 && row !== undefined ? toInt(row.cpoint) : undefined;
  }

  private async credit(trx: Knex.Transaction, uid: string, amount: number, now: number): Promise<void> {
    await this.ensureUser(trx, uid, now);
    const changed = await trx(T.users)
      .where({ uid })
      .andWhere('cpoint', '<=', MAX_BALANCE - amount)
      .update({ cpoint: trx.raw('cpoint + ?', [amount]), updated_at: now });
    if (changed !== 1) throw new BalanceLimitError();
  }

  private async balanceOf(trx: Knex.Transaction, uid: string): Promise<number> {
    const row = (await trx(T.users).select('cpoint').where({ uid }).first()) as Row | undefined;
    return toInt(row?.cpoint);
  }

  private async journal(
    trx: Knex.Transaction,
    entry: { owner: string; uid: string; amount: number; score?: number; balanceAfter: number; kind: string; ref: string; actor: Actor; now: number },
  ): Promise<void> {
    await trx(T.journal).insert({
      owner: entry.owner,
      uid: entry.uid,
      amount: entry.amount,
      score: entry.score ?? 0,
      balance_after: entry.balanceAfter,
      kind: entry.kind,
      ref: entry.ref,
      ...journalActorColumns(entry.actor),
      created_at: entry.now,
    });
  }

  /** MySQL: the transaction of payOrderInTransaction, run by the stored procedure in one round trip. */
  private async payOrderByProcedure(
    order: OrderPayment,
    actor: Actor,
    now: number,
  ): Promise<number | 'insufficient' | 'raced'> {
    const who = journalActorColumns(actor);
    const rows = await callRoutine<Row, typeof PAY_ORDER>(this.knex, PAY_ORDER, {
      p_owner: order.owner,
      p_order_id: order.orderId,
      p_uid: order.uid,
      p_amount: order.amount,
      p_source: who.source,
      p_operator: who.operator,
      p_note: who.note,
      p_now: now,
    });
    const row = rows[0];
    if (row === undefined) throw new Error(`${PAY_ORDER.name} answered no row`);
    if (row.outcome === 'paid') return toInt(row.balance);
    if (row.outcome === 'insufficient' || row.outcome === 'raced') return row.outcome;
    throw new Error(`${PAY_ORDER.name} answered outcome ${String(row.outcome)}`);
  }

  private async payOrderInTransaction(
    order: OrderPayment,
    actor: Actor,
    now: number,
  ): Promise<number | 'insufficient' | 'raced'> {
    const row = { owner: order.owner, order_id: order.orderId, uid: order.uid, cpoint: order.amount, revoked_cpoint: 0, created_at: now, updated_at: now };
    let outcome: number | 'insufficient' | 'raced';
    try {
      outcome = await this.knex.transaction(async (trx) => {
        const balance = await this.debitReturning(trx, order.uid, order.amount, now);
        if (balance === undefined) throw new RollbackError('insufficient' as const);
        try {
          await trx(T.orders).insert({ ...row, status: ORDER_CONSUMED, balance_after: balance });
        } catch (err) {
          // The order id is taken: this debit rolls back and the caller reads the stored order.
          if (isUniqueViolation(err)) throw new RollbackError('raced' as const);
          throw err;
        }
        await this.journal(trx, { owner: order.owner, uid: order.uid, amount: -order.amount, balanceAfter: balance, kind: 'consume', ref: order.orderId, actor, now });
        return balance;
      });
    } catch (err) {
      if (!(err instanceof RollbackError)) throw err;
      outcome = err.value as 'raced' | 'insufficient';
    }
    if (outcome !== 'insufficient') return outcome;
    // The refusal is the order id's final answer: kept under the same unique key a payment
    // takes, so whichever call with this key comes first decides.
    try {
      await this.knex(T.orders).insert({ ...row, status: ORDER_UNPAID, balance_after: null });
      return 'insufficient';
    } catch (err) {
      if (isUniqueViolation(err)) return 'raced';
      throw err;
    }
  }

  /**
   * Pays an order once per (owner, order id): the order row, the conditional debit and the
   * journal row commit together or not at all. Answers the balance after; 'insufficient' when
   * this call was refused for lack of c-points (the refused order is then stored, and is the
   * order id's answer for good); or 'raced' when the order id already had an answer (a payment
   * or a refusal, this call's or a concurrent one's): the caller reads the stored order.
   */
  async payOrder(order: OrderPayment, actor: Actor, now: number): Promise<number | 'insufficient' | 'raced'> {
    return retryConflicts(() => (this.dialect === 'mysql' ? this.payOrderByProcedure(order, actor, now) : this.payOrderInTransaction(order, actor, now)));
  }

  /**
   * Refunds a consumed order once: the status moves consumed -> revoked only if the amount
   * fits, then the credit and its journal row, all in one transaction. False when the order
   * was not in a revocable state (the caller reads it to say why).
   */
  async revokeOrder(owner: string, orderId: string, uid: string, amount: number, actor: Actor, now: number): Promise<number | false> {
    return retryConflicts(() =>
      this.knex.transaction(async (trx) => {
        const moved = await trx(T.orders)
          .where({ owner, order_id: orderId, uid, status: ORDER_CONSUMED })
          .andWhere('cpoint', '>=', amount)
          .update({ status: ORDER_REVOKED, revoked_cpoint: amount, updated_at: now });
        if (moved !== 1) return false;
        await this.credit(trx, uid, amount, now);
        const balance = await this.balanceOf(trx, uid);
        await this.journal(trx, { owner, uid, amount, balanceAfter: balance, kind: 'revoke', ref: orderId, actor, now });
        return balance;
      }),
    );
  }

  async getRequest(owner: string, kind: string, requestId: string): Promise<StoredRequest | undefined> {
    const row = (await this.knex(T.requests).select('fingerprint', 'response').where({ owner, kind, request_id: requestId }).first()) as
      | Row
      | undefined;
    return row === undefined ? undefined : { fingerprint: String(row.fingerprint), response: String(row.response) };
  }

  /**
   * Claims a request key (in `trx`, or on its own to store a final answer); false when it
   * exists already.
   */
  private async claimRequest(
    trx: Knex,
    key: { owner: string; kind: string; requestId: string; fingerprint: string },
    now: number,
    response = '',
  ): Promise<boolean> {
    try {
      await trx(T.requests).insert({ owner: key.owner, kind: key.kind, request_id: key.requestId, fingerprint: key.fingerprint, response, created_at: now });
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  /**
   * Runs a keyed request's transaction; when it is refused by a balance (INSUFFICIENT_CPOINT,
   * BALANCE_LIMIT) the refusal is stored under the request key after the rollback, as the key's
   * final answer, and rethrown. undefined when the key already had an answer (the caller reads it).
   */
  private async keyed<R>(key: { owner: string; kind: string; requestId: string; fingerprint: string }, now: number, fn: () => Promise<R | undefined>): Promise<R | undefined> {
    try {
      return await retryConflicts(fn);
    } catch (err) {
      const refusal = refusalOf(err);
      if (refusal === undefined) throw err;
      if (!(await this.claimRequest(this.knex, key, now, JSON.stringify(refusal)))) return undefined;
      throw err;
    }
  }

  /**
   * An admin credit (amount > 0) or debit (amount < 0), once per (owner, request id): the
   * request row, the conditional balance change and the journal row commit together. Answers
   * the balance after, or undefined when the request id was already used (the caller reads it);
   * a refusal by the balance is stored as the key's answer (see keyed).
   */
  async adminAdjust(
    request: { owner: string; kind: 'admin_add' | 'admin_reduce'; requestId: string; fingerprint: string; uid: string; amount: number },
    actor: Actor,
    now: number,
  ): Promise<number | undefined> {
    return this.keyed(request, now, () =>
      this.knex.transaction(async (trx) => {
        if (!(await this.claimRequest(trx, request, now))) return undefined;
        if (request.amount > 0) await this.credit(trx, request.uid, request.amount, now);
        else if (!(await this.debit(trx, request.uid, -request.amount, now))) throw new InsufficientCpointError();
        const balance = await this.balanceOf(trx, request.uid);
        await this.journal(trx, {
          owner: request.owner,
          uid: request.uid,
          amount: request.amount,
          balanceAfter: balance,
          kind: request.kind,
          ref: request.requestId,
          actor,
          now,
        });
        await trx(T.requests)
          .where({ owner: request.owner, kind: request.kind, request_id: request.requestId })
          .update({ response: JSON.stringify({ cpoint: balance }) });
        return balance;
      }),
    );
  }

  /**
   * One SubmitTask: reads the user's progress, lets `judge` decide, and writes the counters
   * (compare-and-set on the counts read), the target, the totals, the journal row and the
   * stored answer in one transaction. undefined when the request id was already used.
   */
  async submitTask(
    request: { owner: string; requestId: string; fingerprint: string; uid: string; task: Task; cycle: number; target: string },
    judge: (state: TaskState) => Verdict,
    actor: Actor,
    now: number,
  ): Promise<{ outcome: TaskOutcome; grades: Grade[] } | undefined> {
    const { uid, task, cycle, target } = request;
    const key = { owner: request.owner, kind: 'task', requestId: request.requestId, fingerprint: request.fingerprint };
    return this.keyed(key, now, () =>
      this.knex.transaction(async (trx) => {
        // The grade table as this transaction writes grades from it: read first, and on MySQL
        // share-locked until commit, so UpdateGradeConfigs (which replaces it and regrades every
        // user in one transaction) runs wholly before or wholly after this one. SQLite runs one
        // transaction at a time.
        const gradeQuery = trx(T.grades).select('grade', 'score').orderBy('grade');
        if (this.dialect === 'mysql') gradeQuery.forShare();
        const grades = ((await gradeQuery) as Row[]).map((r) => ({ grade: toInt(r.grade), score: toInt(r.score) }));
        if (!(await this.claimRequest(trx, key, now))) return undefined;
        await this.ensureUser(trx, uid, now);
        const user = toUser((await trx(T.users).select('uid', 'cpoint', 'score', 'grade').where({ uid }).first()) as Row | undefined, uid);
        const progress = (await trx(T.progress)
          .select('cycle', 'count', 'cpoint', 'score')
          .where({ uid, task_id: task.id })
          .whereIn('cycle', [cycle, ALL_TIME])) as Row[];
        const current = progress.find((p) => toInt(p.cycle) === cycle);
        const total = progress.find((p) => toInt(p.cycle) === ALL_TIME);
        const targetSeen =
          task.rFilter === 1 &&
          (await trx(T.targets).select('uid').where({ uid, task_id: task.id, cycle, target }).first()) !== undefined;
        const state: TaskState = {
          grade: user.grade,
          totalCount: toInt(total?.count),
          cycleCount: toInt(current?.count),
          cycleCpoint: toInt(current?.cpoint),
          cycleScore: toInt(current?.score),
          targetSeen,
        };
        const verdict = judge(state);
        let after = user;
        if (verdict.code === 0) {
          for (const [c, seen] of [
            [cycle, current],
            [ALL_TIME, total],
          ] as const) {
            if (seen === undefined) {
              await trx(T.progress)
                .insert({ uid, task_id: task.id, cycle: c, count: 0, cpoint: 0, score: 0 })
                .onConflict(['uid', 'task_id', 'cycle'])
                .ignore();
            }
            const moved = await trx(T.progress)
              .where({ uid, task_id: task.id, cycle: c, count: toInt(seen?.count) })
              .update({
                count: trx.raw('count + ?', [verdict.completions]),
                cpoint: trx.raw('cpoint + ?', [verdict.cpoint]),
                score: trx.raw('score + ?', [verdict.score]),
              });
            if (moved !== 1) throw new TaskConflictError();
          }
          if (task.rFilter === 1) {
            try {
              await trx(T.targets).insert({ uid, task_id: task.id, cycle, target });
            } catch (err) {
              if (isUniqueViolation(err)) throw new TaskConflictError();
              throw err;
            }
          }
          const changed = await trx(T.users)
            .where({ uid })
            .andWhere('cpoint', '<=', MAX_BALANCE - verdict.cpoint)
            .andWhere('score', '<=', MAX_BALANCE - verdict.score)
            .update({
              // The grade of the experience as stored plus this award, from the table read above:
              // never from a score or a table read earlier. First in SET, so that MySQL (which
              // evaluates SET left to right on the new values) reads the score before the award,
              // as SQLite does.
              grade: trx.raw(`(SELECT COALESCE(MAX(g.grade), 0) FROM ?? AS g WHERE g.score <= ??.score + ?)`, [T.grades, T.users, verdict.score]),
              cpoint: trx.raw('cpoint + ?', [verdict.cpoint]),
              score: trx.raw('score + ?', [verdict.score]),
              updated_at: now,
            });
          if (changed !== 1) throw new BalanceLimitError();
          after = toUser((await trx(T.users).select('uid', 'cpoint', 'score', 'grade').where({ uid }).first()) as Row | undefined, uid);
          if (verdict.cpoint > 0 || verdict.score > 0) {
            await this.journal(trx, {
              owner: request.owner,
              uid,
              amount: verdict.cpoint,
              score: verdict.score,
              balanceAfter: after.cpoint,
              kind: 'task',
              ref: request.requestId,
              actor: { ...actor, note: `task ${task.id} x${verdict.completions}` },
              now,
            });
          }
        }
        const outcome: TaskOutcome = { verdict, user: after };
        await trx(T.requests).where({ owner: request.owner, kind: 'task', request_id: request.requestId }).update({ response: JSON.stringify(outcome) });
        return { outcome, grades };
      }),
    );
  }

  /**
   * Stores a final answer for a task request that wrote nothing (no task has its op), so that
   * a replay after such a task is created still gets it; false when the key already had one.
   */
  async recordTaskAnswer(key: { owner: string; requestId: string; fingerprint: string }, response: string, now: number): Promise<boolean> {
    return this.claimRequest(this.knex, { ...key, kind: 'task' }, now, response);
  }

  /** The sum of a user's journal, for invariant checks. */
  async journalSum(uid: string): Promise<{ cpoint: number; score: number; rows: number }> {
    const row = (await this.knex(T.journal)
      .where({ uid })
      .select(this.knex.raw('COALESCE(SUM(amount), 0) AS cpoint, COALESCE(SUM(score), 0) AS score, COUNT(*) AS n'))
      .first()) as Row | undefined;
    return { cpoint: toInt(row?.cpoint), score: toInt(row?.score), rows: toInt(row?.n) };
  }

  async listTasks(): Promise<Row[]> {
    return (await this.knex(T.tasks).select().orderBy('id')) as Row[];
  }

  async taskByOp(op: string): Promise<Row | undefined> {
    return (await this.knex(T.tasks).where({ op }).first()) as Row | undefined;
  }

  /**
   * Upserts a task by id; false when its op belongs to another task. UPDATE then INSERT rather
   * than MySQL's ON DUPLICATE KEY, which would fire on the op key and rewrite the other task.
   */
  async upsertTask(row: Record<string, unknown>): Promise<boolean> {
    const { id, ...fields } = row;
    try {
      const updated = await this.knex(T.tasks).where({ id }).update(fields);
      if (updated === 0) await this.knex(T.tasks).insert(row);
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  async listGrades(): Promise<Grade[]> {
    const rows = (await this.knex(T.grades).select('grade', 'score').orderBy('grade')) as Row[];
    return rows.map((r) => ({ grade: toInt(r.grade), score: toInt(r.score) }));
  }

  /** Replaces the grade table and regrades every user from their experience, in one transaction. */
  async replaceGrades(grades: readonly Grade[]): Promise<void> {
    await this.knex.transaction(async (trx) => {
      await trx(T.grades).delete();
      if (grades.length > 0) await trx(T.grades).insert(grades.map((g) => ({ grade: g.grade, score: g.score })));
      await trx(T.users).update({ grade: 0 });
      // Ascending thresholds: each pass lifts the users who reach the next grade.
      for (const g of grades) await trx(T.users).where('score', '>=', g.score).update({ grade: g.grade });
    });
  }

  async listSwitches(): Promise<ApiSwitch[]> {
    const rows = (await this.knex(T.switches).select().orderBy('method')) as Row[];
    return rows.map((r) => ({
      method: String(r.method),
      closed: Boolean(toInt(r.closed)),
      updatedBy: String(r.updated_by),
      updatedAt: toInt(r.updated_at),
    }));
  }

  async setSwitch(method: string, closed: boolean, updatedBy: string, now: number): Promise<void> {
    await this.knex(T.switches)
      .insert({ method, closed, updated_by: updatedBy, updated_at: now })
      .onConflict('method')
      .merge(['closed', 'updated_by', 'updated_at']);
  }

  async putLegacyApp(appName: string, secret: string, admin: boolean, now: number): Promise<void> {
    await this.knex(T.legacyApps)
      .insert({ app_name: appName, secret, admin, created_at: now })
      .onConflict('app_name')
      .merge(['secret', 'admin', 'created_at']);
  }

  async getLegacyApp(appName: string): Promise<LegacyApp | undefined> {
    const row = (await this.knex(T.legacyApps).where({ app_name: appName }).first()) as Row | undefined;
    return row === undefined ? undefined : { appName: String(row.app_name), secret: String(row.secret), admin: Boolean(toInt(row.admin)) };
  }
}
