/**
 * All SQL of the lottery. Invariants live here and are decided by the database: stock and
 * red-packet money by conditional UPDATEs checked by affected rows, plays and wins per session
 * likewise, all of a draw in one transaction with the prize row and the draw log (whose unique
 * key makes a replayed request_id return the first answer).
 *
 * A draw's request id belongs to an owner (platform/owner.ts): the log's unique key is
 * (aid, openid, owner, request_id), and a replay reads only the owner's own row. Rows from
 * before request ids had owners carry LEGACY_OWNER, which no new draw has, so none is replayed.
 *
 * On MySQL the lottery's own tables compare openids and request ids exactly (utf8mb4_nopad_bin,
 * see migrations.ts); the legacy tables are not altered, see exactOpenid.
 */
import type { Knex } from 'knex';
import { isUniqueViolation, retryConflicts, type Database, type Dialect } from '../platform/db.js';
import { callRoutine } from '../platform/routines.js';
import { T } from './migrations.js';
import { DRAW } from './routines.js';
import type { ActivityColumns, ActivityRow } from './rules.js';

export interface MetaRow {
  aid: number;
  code: string;
  require_user_info: number | boolean;
  /** People who entered the activity (rows of ims_scratch_person), kept as they arrive. */
  participants: number | string;
}

export interface PersonRow {
  id: number;
  aid: number;
  openid: string;
  nickname: string;
  headimgurl: string;
  name: string;
  tel: string;
  address: string;
  other_info: string | null;
  info_time: number;
}

export interface PersonPrizeRow {
  id: number;
  aid: number;
  pid: number;
  openid: string;
  prize_id: number;
  prize_name: string;
  prize_type: number;
  money: string;
  secret: string;
  status: number;
  session: number;
  create_time: number;
  claim_time: number;
}

export interface WinnerRow {
  nickname: string | null;
  headimgurl: string | null;
  prize_name: string;
  money: string;
  create_time: number;
}

/** One prize won with the winner's contact details, as the operators' export reads it. */
export interface WinnerExportRow {
  id: number;
  openid: string;
  prize_id: number;
  prize_name: string;
  prize_type: number;
  money: string;
  status: number;
  session: number;
  create_time: number;
  claim_time: number;
  /** The person's columns: null when the winner has no person row (a legacy pid of 0). */
  nickname: string | null;
  name: string | null;
  tel: string | null;
  address: string | null;
  other_info: string | null;
  info_time: number | null;
}

export interface StockRow {
  prize_id: number;
  won: number;
  paid_cents: number | string;
}

export interface Counters {
  readonly sessionPlays: number;
  readonly sessionShares: number;
  readonly sessionWins: number;
  readonly totalPlays: number;
}

/** What a draw may take from stock: a counted prize (won < sum) or a random red packet (paid <= money). */
export type StockClaim =
  | { readonly kind: 'count'; readonly sum: number; readonly cents: number }
  | { readonly kind: 'budget'; readonly money: number; readonly cents: number; readonly min: number };

export interface DrawPlan {
  /** The owner of the request id (platform/owner.ts); part of the draw log's unique key. */
  readonly owner: string;
  readonly aid: number;
  readonly pid: number;
  readonly openid: string;
  readonly session: number;
  readonly requestId: string;
  readonly now: number;
  /** max_eplay; shares of the session are added to it in SQL. undefined = unlimited. */
  readonly maxSessionPlays: number | undefined;
  readonly maxTotalPlays: number | undefined;
  readonly maxWins: number;
  readonly slot: number;
  readonly prizeVersion: string;
  readonly win?: {
    readonly prizeId: number;
    readonly prizeName: string;
    readonly poolKey: string;
    readonly legacyType: number;
    readonly claimedWhenWon: boolean;
    readonly claim: StockClaim;
    readonly secret: string;
    /** Known exhausted by this process (a fast path only; the database would refuse anyway). */
    readonly knownExhausted: boolean;
  };
}

export type DrawResult =
  | { readonly kind: 'no_times' | 'have_award' | 'no_award' }
  | { readonly kind: 'stock_gone'; readonly prizeId: number }
  | { readonly kind: 'win'; readonly prizeId: number; readonly cents: number; readonly secret: string };

export interface LoggedDraw {
  readonly id: string;
  readonly response: string;
}

export interface LogEntry {
  readonly owner: string;
  readonly aid: number;
  readonly openid: string;
  readonly requestId: string;
  readonly session: number;
  readonly slot: number;
  readonly prizeVersion: string;
  readonly poolKey: string | null;
  readonly prizeId: number | null;
  readonly outcome: string;
  readonly paidCents: number;
  readonly now: number;
}

/** The request id already has a logged draw; the caller answers with it (and the draw rolls back). */
class ReplayedError extends Error {}

/** The deferred stock take found the drawn amount no longer fits; the draw is redone. */
class StockShortError extends Error {}

export class LotteryStore {
  private readonly knex: Knex;
  private readonly dialect: Dialect;

  constructor(db: Database) {
    this.knex = db.knex;
    this.dialect = db.dialect;
  }

  // ---- activities ---------------------------------------------------------------------------

  async activityRow(aid: number): Promise<ActivityRow | undefined> {
    return this.knex<ActivityRow>(T.activity).where({ id: aid }).first();
  }

  async insertActivity(columns: ActivityColumns): Promise<number> {
    const [id] = await this.knex(T.activity).insert(columns);
    return Number(id);
  }

  async updateActivity(aid: number, columns: Partial<ActivityColumns>): Promise<void> {
    await this.knex(T.activity).where({ id: aid }).update(columns);
  }

  async metaByAid(aid: number): Promise<MetaRow | undefined> {
    return this.knex<MetaRow>(T.meta).where({ aid }).first();
  }

  async metaByCode(code: string): Promise<MetaRow | undefined> {
    return this.knex<MetaRow>(T.meta).where({ code }).first();
  }

  /**
   * Gives the activity a code if it has none yet (legacy rows get theirs on first use), and
   * counts the people a legacy activity already has; from then on each new person adds one.
   */
  async ensureMeta(aid: number, code: string, now: number): Promise<MetaRow> {
    const participants = this.knex(T.person).count('*').where('aid', aid);
    await this.knex(T.meta).insert({ aid, code, require_user_info: false, create_time: now, participants }).onConflict('aid').ignore();
    const row = await this.metaByAid(aid);
    if (row === undefined) throw new Error('activity meta vanished after insert');
    return row;
  }

  async setRequireUserInfo(aid: number, value: boolean): Promise<void> {
    await this.knex(T.meta).where({ aid }).update({ require_user_info: value });
  }

  /**
   * Creates the prizes' stock rows, starting from what their winners already took: on a
   * database the legacy game served, `ims_scratch_person_prize` holds winners huodong never
   * counted, and `sum` and `money` bound them too. No draw can win a prize before its row
   * exists, so the tally cannot miss one of huodong's; a row already there is left alone.
   */
  async ensureStock(aid: number, prizeIds: readonly number[]): Promise<void> {
    if (prizeIds.length === 0) return;
    const taken = (await this.knex(T.personPrize)
      .where('aid', aid)
      .whereIn('prize_id', prizeIds)
      .groupBy('prize_id')
      .select('prize_id', this.knex.raw('COUNT(*) AS won'), this.knex.raw('SUM(ROUND(money * 100)) AS paid_cents'))) as Array<{
      prize_id: number | string;
      won: number | string;
      paid_cents: number | string | null;
    }>;
    const tally = new Map(taken.map((r) => [Number(r.prize_id), { won: Number(r.won), paid_cents: Number(r.paid_cents ?? 0) }]));
    await this.knex(T.stock)
      .insert(prizeIds.map((prize_id) => ({ aid, prize_id, ...(tally.get(prize_id) ?? { won: 0, paid_cents: 0 }) })))
      .onConflict(['aid', 'prize_id'])
      .ignore();
  }

  async stock(aid: number): Promise<StockRow[]> {
    return this.knex<StockRow>(T.stock).where('aid', aid).select('prize_id', 'won', 'paid_cents');
  }

  // ---- people -------------------------------------------------------------------------------

  /**
   * Narrows a query to rows whose `openid` is exactly this one. On MySQL the legacy tables may
   * compare case-insensitively and ignore trailing spaces ("CASE-VICTIM " = "case-victim");
   * the plain equality keeps the index, the BINARY one makes the match exact. The legacy table
   * is not altered.
   */
  private exactOpenid<Q extends Knex.QueryBuilder>(query: Q, openid: string, column = 'openid'): Q {
    if (this.dialect === 'mysql') query.andWhereRaw('BINARY ?? = BINARY ?', [column, openid]);
    return query;
  }

  async person(aid: number, openid: string): Promise<PersonRow | undefined> {
    const row = await this.exactOpenid(this.knex<PersonRow>(T.person).where({ aid, openid }), openid).first();
    return row !== undefined && row.openid === openid ? row : undefined;
  }

  /** Creates the person, counting them in, or refreshes the profile of one who entered before. */
  /** Undefined when the table holds an openid it cannot tell from this one (OpenidConflictError). */
  async upsertPerson(aid: number, openid: string, nickname: string, avatar: string, now: number): Promise<PersonRow | undefined> {
    const profile: Record<string, string | number> = { update_time: now };
    if (nickname !== '') profile.nickname = nickname;
    if (avatar !== '') profile.headimgurl = avatar;
    // Matched rows count on both stores (mysql2 asks for found rows), changed or not.
    if ((await this.exactOpenid(this.knex(T.person).where({ aid, openid }), openid).update(profile)) === 0) {
      try {
        await this.knex.transaction(async (trx) => {
          await trx(T.person).insert({ aid, openid, nickname, headimgurl: avatar, other_info: '', create_time: now, update_time: now });
          await trx(T.meta).where({ aid }).increment('participants', 1);
        });
      } catch (err) {
        // The same person entering twice at once: the other call created the row and counted it.
        if (!isUniqueViolation(err)) throw err;
        // Either the same person at once, or another one whose openid the table cannot tell
        // from this one (see exactOpenid): person() below then finds nobody.
        await this.exactOpenid(this.knex(T.person).where({ aid, openid }), openid).update(profile);
      }
    }
    return this.person(aid, openid);
  }

  async submitInfo(aid: number, openid: string, info: { name: string; tel: string; address: string; otherInfo: string }, now: number): Promise<boolean> {
    const changed = await this.exactOpenid(this.knex(T.person).where({ aid, openid }), openid).update({
      name: info.name,
      tel: info.tel,
      address: info.address,
      other_info: info.otherInfo,
      info_time: now,
      update_time: now,
    });
    return changed === 1;
  }

  async isWhitelisted(aid: number, openid: string): Promise<boolean> {
    return (await this.exactOpenid(this.knex(T.whitelist).where({ aid, openid }), openid).first('id')) !== undefined;
  }

  async addWhitelist(aid: number, openids: readonly string[], now: number): Promise<number> {
    return this.knex.transaction(async (trx) => {
      const [before] = (await trx(T.whitelist).where('aid', aid).whereIn('openid', openids).count({ n: '*' })) as Array<{ n: number | string }>;
      await trx(T.whitelist)
        .insert(openids.map((openid) => ({ aid, openid, create_time: now })))
        .onConflict(['aid', 'openid'])
        .ignore();
      return openids.length - Number(before?.n ?? 0);
    });
  }

  // ---- counters -----------------------------------------------------------------------------

  /** Whether anyone has played the activity: a play counted by huodong or a legacy winner. */
  async hasPlays(aid: number): Promise<boolean> {
    const played = await this.knex(T.sessionCounters).where('aid', aid).andWhere('plays', '>', 0).first('aid');
    return played !== undefined || (await this.knex(T.personPrize).where('aid', aid).first('id')) !== undefined;
  }

  async counters(aid: number, openid: string, session: number): Promise<Counters> {
    const [s, u] = await Promise.all([
      this.knex(T.sessionCounters).where({ aid, openid, session }).first<{ plays: number; shares: number; wins: number } | undefined>('plays', 'shares', 'wins'),
      this.knex(T.userCounters).where({ aid, openid }).first<{ plays: number } | undefined>('plays'),
    ]);
    return {
      sessionPlays: Number(s?.plays ?? 0),
      sessionShares: Number(s?.shares ?? 0),
      sessionWins: Number(s?.wins ?? 0),
      totalPlays: Number(u?.plays ?? 0),
    };
  }

  /** Counts a share if the session has fewer than maxShare; true when counted. */
  async share(aid: number, openid: string, session: number, maxShare: number): Promise<boolean> {
    const key = { aid, openid, session };
    await this.ensureCounters(aid, openid, session);
    return (await this.knex(T.sessionCounters).where(key).andWhere('shares', '<', maxShare).increment('shares', 1)) === 1;
  }

  // ---- draws --------------------------------------------------------------------------------

  /**
   * Runs one draw in one transaction: a play from the session (and total) allowance, then, if
   * the slot fell in a prize's pool, a win from the session allowance and one from stock, the
   * prize row, and the log row. Any refusal undoes what the draw took before it. A replayed
   * request_id returns the first answer instead.
   */
  /**
   * Creates the user's counter rows outside any transaction. Inserting them inside the draw's
   * transaction, after an UPDATE that found nothing, takes gap locks that deadlock on MySQL
   * under load; inside, the draw then only updates rows by primary key.
   */
  async ensureCounters(aid: number, openid: string, session: number): Promise<void> {
    await this.knex(T.sessionCounters).insert({ aid, openid, session, plays: 0, shares: 0, wins: 0 }).onConflict(['aid', 'openid', 'session']).ignore();
    await this.knex(T.userCounters).insert({ aid, openid, plays: 0 }).onConflict(['aid', 'openid']).ignore();
  }

  async draw(plan: DrawPlan, render: (result: DrawResult) => string): Promise<LoggedDraw & { result?: DrawResult }> {
    try {
      // A hot prize's stock row stays locked from its UPDATE to COMMIT, so the stock is taken
      // last. When the drawn amount does not fit, that try rolls back whole and the draw runs
      // again taking stock first, where a red packet may pay what is left or end as stock_gone.
      if (this.dialect === 'mysql') {
        const first = await retryConflicts(() => this.drawByProcedure(plan, render));
        if (first === 'replayed') return await this.storedDraw(plan.owner, plan.aid, plan.openid, plan.requestId);
        if (first !== 'short') return first;
      } else {
        try {
          return await this.drawOnce(plan, render, true);
        } catch (err) {
          if (!(err instanceof StockShortError)) throw err;
        }
      }
      return await this.drawOnce(plan, render, false);
    } catch (err) {
      if (!(err instanceof ReplayedError)) throw err;
      return this.storedDraw(plan.owner, plan.aid, plan.openid, plan.requestId);
    }
  }

  /** MySQL: drawOnce with the stock taken last, run by the stored procedure in one round trip. */
  private async drawByProcedure(plan: DrawPlan, render: (result: DrawResult) => string): Promise<(LoggedDraw & { result: DrawResult }) | 'short' | 'replayed'> {
    const win = plan.win;
    const result: DrawResult =
      win === undefined
        ? { kind: 'no_award' }
        : win.knownExhausted
          ? { kind: 'stock_gone', prizeId: win.prizeId }
          : { kind: 'win', prizeId: win.prizeId, cents: win.claim.cents, secret: win.secret };
    // Every answer the procedure may log, rendered beforehand: a refusal's or the drawn result's.
    const refused = { no_times: render({ kind: 'no_times' }), have_award: render({ kind: 'have_award' }) } as const;
    const response = render(result);
    const rows = await callRoutine<{ outcome: string; log_id: number | string | null }, typeof DRAW>(this.knex, DRAW, {
      p_aid: plan.aid,
      p_pid: plan.pid,
      p_openid: plan.openid,
      p_session: plan.session,
      p_request_id: plan.requestId,
      p_owner: plan.owner,
      p_now: plan.now,
      p_max_session_plays: plan.maxSessionPlays ?? null,
      p_max_total_plays: plan.maxTotalPlays ?? null,
      p_max_wins: plan.maxWins,
      p_slot: plan.slot,
      p_prize_version: plan.prizeVersion,
      p_prize_id: win?.prizeId ?? null,
      p_pool_key: win?.poolKey ?? null,
      p_known_exhausted: win?.knownExhausted === true ? 1 : 0,
      p_prize_name: win?.prizeName ?? null,
      p_prize_type: win?.legacyType ?? null,
      p_claimed: win?.claimedWhenWon === true ? 1 : 0,
      p_secret: win?.secret ?? null,
      p_money: win === undefined ? null : formatCents(win.claim.cents),
      p_claim_kind: win?.claim.kind ?? null,
      p_claim_sum: win?.claim.kind === 'count' ? win.claim.sum : null,
      p_claim_money: win?.claim.kind === 'budget' ? win.claim.money : null,
      p_cents: win?.claim.cents ?? null,
      p_no_times: refused.no_times,
      p_have_award: refused.have_award,
      p_result: response,
    });
    const row = rows[0];
    switch (row?.outcome) {
      case 'short':
      case 'replayed':
        return row.outcome;
      case 'no_times':
      case 'have_award':
        return { id: String(row.log_id), response: refused[row.outcome], result: { kind: row.outcome } };
      case result.kind:
        return { id: String(row.log_id), response, result };
      default:
        throw new Error(`${DRAW.name} answered outcome ${String(row?.outcome)}`);
    }
  }

  private drawOnce(plan: DrawPlan, render: (result: DrawResult) => string, deferStock: boolean): Promise<LoggedDraw & { result: DrawResult }> {
    return retryConflicts(() =>
      this.knex.transaction(async (trx) => {
        const result = await this.drawIn(trx, plan, deferStock);
        const response = render(result);
        const win = plan.win;
        const id = await this.insertLog(
          trx,
          {
            owner: plan.owner,
            aid: plan.aid,
            openid: plan.openid,
            requestId: plan.requestId,
            session: plan.session,
            slot: plan.slot,
            prizeVersion: plan.prizeVersion,
            poolKey: win?.poolKey ?? null,
            prizeId: win?.prizeId ?? null,
            outcome: result.kind,
            paidCents: result.kind === 'win' ? result.cents : 0,
            now: plan.now,
          },
          response,
        );
        if (deferStock && result.kind === 'win' && win !== undefined && !(await this.payFromStock(trx, plan.aid, win.prizeId, win.claim, win.claim.cents))) {
          throw new StockShortError();
        }
        return { id, response, result };
      }),
    );
  }

  /** Logs a draw that stopped before touching any allowance (closed, not started, ...). */
  async logOnly(entry: LogEntry, response: string): Promise<LoggedDraw> {
    try {
      const id = await this.insertLog(this.knex, entry, response);
      return { id, response };
    } catch (err) {
      if (!(err instanceof ReplayedError)) throw err;
      return this.storedDraw(entry.owner, entry.aid, entry.openid, entry.requestId);
    }
  }

  private async storedDraw(owner: string, aid: number, openid: string, requestId: string): Promise<LoggedDraw> {
    const row = await this.knex(T.drawLog).where({ aid, openid, owner, request_id: requestId }).first<{ id: number | string; response: string } | undefined>('id', 'response');
    if (row === undefined) throw new Error('replayed draw not found');
    return { id: String(row.id), response: row.response };
  }

  private async insertLog(db: Knex | Knex.Transaction, e: LogEntry, response: string): Promise<string> {
    try {
      const [id] = await db(T.drawLog).insert({
        aid: e.aid,
        openid: e.openid,
        owner: e.owner,
        request_id: e.requestId,
        session: e.session,
        slot: e.slot,
        prize_version: e.prizeVersion,
        pool_key: e.poolKey,
        prize_id: e.prizeId,
        outcome: e.outcome,
        paid_cents: e.paidCents,
        response,
        create_time: e.now,
      });
      return String(id);
    } catch (err) {
      if (isUniqueViolation(err)) throw new ReplayedError();
      throw err;
    }
  }

  /**
   * Takes a play from the session and the total allowance, and on a winning slot the session's
   * win as well, all or nothing. The session row's `wins < maxWins` guards every draw, winning
   * or not, as the legacy game refuses a user who has won their share. True when taken.
   */
  private async takePlay(trx: Knex.Transaction, plan: DrawPlan): Promise<boolean> {
    // A prize this process knows is gone ends as stock_gone; its win is not taken at all.
    const wins = plan.win === undefined || plan.win.knownExhausted ? 0 : 1;
    const sessionKey = { aid: plan.aid, openid: plan.openid, session: plan.session };
    const session = trx(T.sessionCounters).where(sessionKey).andWhere('wins', '<', plan.maxWins);
    if (plan.maxSessionPlays !== undefined) session.andWhereRaw('?? < ? + ??', ['plays', plan.maxSessionPlays, 'shares']);
    if ((await session.update({ plays: trx.raw('?? + 1', ['plays']), wins: trx.raw('?? + ?', ['wins', wins]) })) === 0) return false;
    const total = trx(T.userCounters).where({ aid: plan.aid, openid: plan.openid });
    if (plan.maxTotalPlays !== undefined) total.andWhere('plays', '<', plan.maxTotalPlays);
    if ((await total.increment('plays', 1)) === 1) return true;
    await trx(T.sessionCounters)
      .where(sessionKey)
      .update({ plays: trx.raw('?? - 1', ['plays']), wins: trx.raw('?? - ?', ['wins', wins]) });
    return false;
  }

  private async drawIn(trx: Knex.Transaction, plan: DrawPlan, deferStock: boolean): Promise<DrawResult> {
    const sessionKey = { aid: plan.aid, openid: plan.openid, session: plan.session };
    if (!(await this.takePlay(trx, plan))) {
      // Nothing was taken; a user who has won their share hears so, anyone else is out of plays.
      const row = await trx(T.sessionCounters).where(sessionKey).first<{ wins: number } | undefined>('wins');
      return { kind: Number(row?.wins ?? 0) >= plan.maxWins ? 'have_award' : 'no_times' };
    }

    const win = plan.win;
    if (win === undefined) return { kind: 'no_award' };

    if (win.knownExhausted) return { kind: 'stock_gone', prizeId: win.prizeId };
    // Deferred: the caller takes exactly the drawn cents from stock as the last statement.
    const cents = deferStock ? win.claim.cents : await this.takeStock(trx, plan.aid, win.prizeId, win.claim);
    if (cents === undefined) {
      await trx(T.sessionCounters).where(sessionKey).decrement('wins', 1);
      return { kind: 'stock_gone', prizeId: win.prizeId };
    }

    await trx(T.personPrize).insert({
      aid: plan.aid,
      pid: plan.pid,
      openid: plan.openid,
      prize_id: win.prizeId,
      prize_name: win.prizeName,
      prize_type: win.legacyType,
      money: formatCents(cents),
      secret: win.secret,
      status: win.claimedWhenWon ? 1 : 2,
      session: plan.session,
      create_time: plan.now,
      claim_time: win.claimedWhenWon ? plan.now : 0,
    });
    return { kind: 'win', prizeId: win.prizeId, cents, secret: win.secret };
  }

  /**
   * Takes one from stock paying `cents`, within a count prize's sum or a red packet's money;
   * false when that does not fit.
   */
  private async payFromStock(trx: Knex.Transaction, aid: number, prizeId: number, claim: StockClaim, cents: number): Promise<boolean> {
    const q = trx(T.stock).where({ aid, prize_id: prizeId });
    if (claim.kind === 'count') q.andWhere('won', '<', claim.sum);
    else q.andWhereRaw('?? + ? <= ?', ['paid_cents', cents, claim.money]);
    return (await q.update({ won: trx.raw('?? + 1', ['won']), paid_cents: trx.raw('?? + ?', ['paid_cents', cents]) })) === 1;
  }

  /** Takes one from stock; returns the cents paid, or undefined when the stock is gone. */
  private async takeStock(trx: Knex.Transaction, aid: number, prizeId: number, claim: StockClaim): Promise<number | undefined> {
    if (await this.payFromStock(trx, aid, prizeId, claim, claim.cents)) return claim.cents;
    if (claim.kind === 'count') return undefined;
    // The drawn amount no longer fits: pay what is left if it is still at least min (the
    // update stays conditional, so a concurrent payment makes it fail instead of overpaying).
    const row = await trx(T.stock).where({ aid, prize_id: prizeId }).first<{ paid_cents: number | string } | undefined>('paid_cents');
    const left = claim.money - Number(row?.paid_cents ?? claim.money);
    if (left >= claim.min && left < claim.cents && (await this.payFromStock(trx, aid, prizeId, claim, left))) return left;
    return undefined;
  }

  // ---- prizes won ---------------------------------------------------------------------------

  async myPrizes(aid: number, openid: string): Promise<PersonPrizeRow[]> {
    const rows = await this.exactOpenid(this.knex<PersonPrizeRow>(T.personPrize).where({ aid, openid }), openid).orderBy('id', 'desc').limit(500);
    return rows.filter((r) => r.openid === openid);
  }

  async winners(aid: number, limit: number): Promise<WinnerRow[]> {
    return this.knex(`${T.personPrize} as w`)
      .leftJoin(`${T.person} as p`, 'p.id', 'w.pid')
      .where('w.aid', aid)
      .orderBy('w.id', 'desc')
      .limit(limit)
      .select<WinnerRow[]>('p.nickname', 'p.headimgurl', 'w.prize_name', 'w.money', 'w.create_time');
  }

  async prizeBySecret(aid: number, secret: string): Promise<PersonPrizeRow | undefined> {
    return this.knex<PersonPrizeRow>(T.personPrize).where({ aid, secret }).first();
  }

  /** Marks an unclaimed prize claimed; false when it was claimed already (or is not there). */
  async claim(aid: number, secret: string, now: number): Promise<boolean> {
    const changed = await this.knex(T.personPrize).where({ aid, secret, status: 2 }).update({ status: 1, claim_time: now });
    return changed === 1;
  }

  // ---- exports ------------------------------------------------------------------------------

  /**
   * One keyset page of the activity's winners after winner id `afterId`, oldest first, with the
   * person's contact details: a range read of the (aid, id) index and a primary-key lookup of
   * each person, as cheap at the millionth winner as at the first. Secrets are not read.
   */
  async winnersExportPage(aid: number, afterId: number, limit: number, physicalOnly: boolean): Promise<WinnerExportRow[]> {
    const q = this.knex(`${T.personPrize} as w`)
      .leftJoin(`${T.person} as p`, 'p.id', 'w.pid')
      .where('w.aid', aid)
      .andWhere('w.id', '>', afterId);
    // Legacy prize_type 2 is a physical prize (rules.legacyPrizeType).
    if (physicalOnly) q.andWhere('w.prize_type', 2);
    return q
      .orderBy('w.id', 'asc')
      .limit(limit)
      .select<WinnerExportRow[]>(
        'w.id',
        'w.openid',
        'w.prize_id',
        'w.prize_name',
        'w.prize_type',
        'w.money',
        'w.status',
        'w.session',
        'w.create_time',
        'w.claim_time',
        'p.nickname',
        'p.name',
        'p.tel',
        'p.address',
        'p.other_info',
        'p.info_time',
      );
  }
}

function formatCents(cents: number): string {
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}
