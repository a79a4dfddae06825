/**
 * All SQL of the grant area. Limits and quotas move only through conditional updates checked
 * by affected rows; nonces and grants are guarded by unique keys; the caller composes them in
 * one transaction.
 */
import type { Knex } from 'knex';
import { createBatcher, firstByKey, groupByKey } from '../platform/batch.js';
import { isUniqueViolation, type Database } from '../platform/db.js';
import { callRoutine, callRoutineIn, type RoutineArgs } from '../platform/routines.js';
import { LabelTakenError } from './errors.js';
import { T } from './migrations.js';
import { GRANT_UNITS } from './routines.js';
import type {
  ActivityDef,
  ActivityRecord,
  Claim,
  ClaimStatus,
  FilterRules,
  GrantedProduct,
  ProductDef,
  SubActivityRecord,
  UnitDef,
} from './model.js';
import { UNIT_CODE } from './rules.js';


/** What one claim writes: its nonce (sync Participate takes it here), and the units to grant. */
export interface ClaimWrites {
  readonly identity: string;
  readonly claimId: string;
  readonly nonce: { readonly appId: string; readonly nonce: string; readonly now: number; readonly expiredBefore: number } | undefined;
  readonly units: ReadonlyArray<{ readonly unitId: string; readonly perPersonLimit: number; readonly products: readonly GrantedProduct[] }>;
  /** commitClaim: the activity whose blocked identities the claim must not be among. */
  readonly activityId?: string | undefined;
}

/** A new claim row (no attempts yet), with its result code. */
export interface ClaimInsert extends Omit<Claim, 'attempts'> {
  readonly resultCode: string | undefined;
}

interface ActivityRow {
  id: string;
  label: string;
  name: string;
  enabled: number | string;
  start_at: number | string;
  end_at: number | string;
}

interface UnitRow {
  id: string;
  activity_id: string;
  name: string;
  enabled: number | string;
  start_at: number | string | null;
  end_at: number | string | null;
  quota: number | string;
  granted: number | string;
  per_person_limit: number | string;
  filters: string;
  products: string;
}

interface EntitlementRow {
  id: number | string;
  identity: string;
  claim_id: string;
  activity_id: string;
  sub_activity_id: string;
  product_uri: string;
  start_at: number | string;
  end_at: number | string;
  activate_type: number | string;
  granted_at: number | string;
}

interface ClaimDbRow {
  id: string;
  app_id: string;
  identity: string;
  activity_label: string;
  request: string;
  status: string;
  outcome: string | null;
  attempts: number | string;
  created_at: number | string;
  completed_at: number | string | null;
}

const optionalNumber = (v: number | string | null): number | undefined => (v === null ? undefined : Number(v));

function toActivity(row: ActivityRow): ActivityDef {
  return {
    id: row.id,
    label: row.label,
    name: row.name,
    enabled: Number(row.enabled) === 1,
    startAt: Number(row.start_at),
    endAt: Number(row.end_at),
  };
}

function toUnit(row: UnitRow): UnitDef {
  return {
    id: row.id,
    activityId: row.activity_id,
    name: row.name,
    enabled: Number(row.enabled) === 1,
    startAt: optionalNumber(row.start_at),
    endAt: optionalNumber(row.end_at),
    quota: Number(row.quota),
    granted: Number(row.granted),
    perPersonLimit: Number(row.per_person_limit),
    filters: JSON.parse(row.filters) as FilterRules,
    products: JSON.parse(row.products) as ProductDef[],
  };
}

function toEntitlement(row: EntitlementRow): GrantedProduct & { rowId: string } {
  return {
    rowId: String(row.id),
    activityId: row.activity_id,
    subActivityId: row.sub_activity_id,
    productUri: row.product_uri,
    startAt: Number(row.start_at),
    endAt: Number(row.end_at),
    activateType: Number(row.activate_type) === 1 ? 1 : 0,
    claimId: row.claim_id,
    grantedAt: Number(row.granted_at),
  };
}

function toClaim(row: ClaimDbRow): Claim {
  return {
    id: row.id,
    appId: row.app_id,
    identity: row.identity,
    activityLabel: row.activity_label,
    request: row.request,
    status: row.status as ClaimStatus,
    outcome: row.outcome ?? undefined,
    attempts: Number(row.attempts),
    createdAt: Number(row.created_at),
    completedAt: optionalNumber(row.completed_at),
  };
}

export class GrantStore {
  private readonly loadActivity: (label: string) => Promise<ActivityDef | undefined>;
  private readonly loadUnits: (activityId: string) => Promise<UnitDef[] | undefined>;

  /** MySQL: the claim's writes run as the stored procedure grant_units. */
  private readonly procedures: boolean;

  private readonly knex: Knex;

  constructor(db: Database) {
    this.knex = db.knex;
    this.procedures = db.dialect === 'mysql';
    this.loadActivity = createBatcher(
      async (labels) => {
        const rows = await this.knex<ActivityRow>(T.activities).whereIn('label', [...labels]);
        return new Map([...firstByKey(rows, (r) => r.label)].map(([label, row]) => [label, toActivity(row)]));
      },
      { keyOf: (label) => label },
    );
    this.loadUnits = createBatcher(
      async (ids) => {
        const rows = await this.knex<UnitRow>(T.units).whereIn('activity_id', [...ids]).orderBy([{ column: 'seq' }, { column: 'id' }]);
        return new Map([...groupByKey(rows, (r) => r.activity_id)].map(([id, group]) => [id, group.map(toUnit)]));
      },
      { keyOf: (id) => id },
    );
  }

  transaction<T>(fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
    return this.knex.transaction(fn);
  }

  // --- activities and units -------------------------------------------------------------

  /** The activity by label, and whether it blocks `identity`, in one query. */
  async activityForParticipant(label: string, identity: string, db: Knex = this.knex): Promise<(ActivityDef & { blocked: boolean }) | undefined> {
    const row = (await db(`${T.activities} as a`)
      .select('a.*', db.raw('exists(select 1 from ?? as b where b.activity_id = a.id and b.identity = ?) as blocked', [T.blocked, identity]))
      .where('a.label', label)
      .first()) as (ActivityRow & { blocked: number | string }) | undefined;
    return row === undefined ? undefined : { ...toActivity(row), blocked: Number(row.blocked) === 1 };
  }

  /**
   * The activity by label and its units, outside any transaction; reads that arrive together
   * share one query each (blocked identities are not read here: commitClaim checks them).
   */
  async activityAndUnits(label: string): Promise<{ activity: ActivityDef; units: UnitDef[] } | undefined> {
    const activity = await this.loadActivity(label);
    if (activity === undefined) return undefined;
    return { activity, units: (await this.loadUnits(activity.id)) ?? [] };
  }

  async activityById(id: string, db: Knex = this.knex): Promise<ActivityDef | undefined> {
    const row = await db<ActivityRow>(T.activities).where({ id }).first();
    return row === undefined ? undefined : toActivity(row);
  }

  async blockedIdentities(activityId: string): Promise<string[]> {
    const rows = await this.knex<{ identity: string; activity_id: string }>(T.blocked).select('identity').where({ activity_id: activityId }).orderBy('identity');
    return rows.map((r) => r.identity);
  }

  /** Inserts or replaces an activity and its block list; false when `id` names none. */
  async saveActivity(record: ActivityRecord, create: boolean, now: number): Promise<boolean> {
    try {
      return await this.knex.transaction(async (trx) => {
        const values = {
          label: record.label,
          name: record.name,
          enabled: record.enabled ? 1 : 0,
          start_at: record.startAt,
          end_at: record.endAt,
          updated_at: now,
        };
        if (create) {
          await trx(T.activities).insert({ id: record.id, ...values, created_at: now });
        } else if ((await trx(T.activities).where({ id: record.id }).update(values)) !== 1) {
          return false;
        }
        await trx(T.blocked).where({ activity_id: record.id }).delete();
        for (let at = 0; at < record.blockedIdentities.length; at += 200) {
          const chunk = record.blockedIdentities.slice(at, at + 200);
          await trx(T.blocked).insert(chunk.map((identity) => ({ activity_id: record.id, identity })));
        }
        return true;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new LabelTakenError();
      throw err;
    }
  }

  async unitsOf(activityId: string, db: Knex = this.knex): Promise<UnitDef[]> {
    const rows = await db<UnitRow>(T.units).where({ activity_id: activityId }).orderBy([{ column: 'seq' }, { column: 'id' }]);
    return rows.map(toUnit);
  }

  async unitById(id: string): Promise<UnitDef | undefined> {
    const row = await this.knex<UnitRow>(T.units).where({ id }).first();
    return row === undefined ? undefined : toUnit(row);
  }

  /** Inserts a unit, or replaces an existing one's settings (never its granted count). */
  async saveUnit(record: SubActivityRecord, create: boolean, now: number): Promise<boolean> {
    const values = {
      name: record.name,
      enabled: record.enabled ? 1 : 0,
      start_at: record.startAt ?? null,
      end_at: record.endAt ?? null,
      quota: record.quota,
      per_person_limit: record.perPersonLimit,
      filters: JSON.stringify(record.filters),
      products: JSON.stringify(record.products),
      updated_at: now,
    };
    if (!create) {
      const changed = await this.knex(T.units).where({ id: record.id, activity_id: record.activityId }).update(values);
      return changed === 1;
    }
    await this.knex.transaction(async (trx) => {
      const last = await trx(T.units).where({ activity_id: record.activityId }).max({ seq: 'seq' }).first();
      const seq = Number((last as { seq?: number | string | null } | undefined)?.seq ?? 0) + 1;
      await trx(T.units).insert({ id: record.id, activity_id: record.activityId, ...values, granted: 0, seq, created_at: now });
    });
    return true;
  }

  // --- the grant ------------------------------------------------------------------------

  /** MySQL: commitClaim can write a whole sync claim in one call. */
  get writesClaimsAtOnce(): boolean {
    return this.procedures;
  }

  /**
   * A claim's writes inside `trx`: the nonce when given ('replayed' when live), then each unit's
   * person slot and entitlements, then each slotted unit's quota, where a quota that is gone
   * gives back that unit's entitlements and slot (quotas last: every claim of a unit contends
   * for its row). Answers a code per unit: 0, PERSON_LIMIT or QUOTA_EXHAUSTED. On MySQL one
   * procedure call (grant_units) does it all.
   */
  async grantUnits(trx: Knex, writes: ClaimWrites): Promise<number[] | 'replayed'> {
    if (this.procedures) {
      const { outcome, codes } = await this.callGrantUnits(writes, null, trx);
      return outcome === 'replayed' ? 'replayed' : codes;
    }
    const { nonce, identity, claimId } = writes;
    if (nonce !== undefined && !(await this.acceptNonce(trx, nonce.appId, nonce.nonce, nonce.now, nonce.expiredBefore))) return 'replayed';
    const codes: number[] = [];
    for (const unit of writes.units) {
      const slotted = await this.takePersonSlot(trx, unit.unitId, identity, unit.perPersonLimit);
      codes.push(slotted ? 0 : UNIT_CODE.PERSON_LIMIT);
      if (slotted) await this.insertEntitlements(trx, identity, unit.products);
    }
    for (const [i, unit] of writes.units.entries()) {
      if (codes[i] !== 0 || (await this.takeQuota(trx, unit.unitId))) continue;
      await this.deleteEntitlements(trx, claimId, unit.unitId);
      await this.returnPersonSlot(trx, unit.unitId, identity);
      codes[i] = UNIT_CODE.QUOTA_EXHAUSTED;
    }
    return codes;
  }

  /**
   * MySQL only: grantUnits and the completed claim row as one transaction inside one call,
   * committed there, so a hot unit's quota row is held for microseconds. The claim's outcome is
   * written as if every unit granted; when one did not, or the identity is blocked in
   * `writes.activityId`, everything is rolled back and the answer is 'deviated' (the caller
   * then runs the claim in its own transaction).
   */
  async commitClaim(writes: ClaimWrites, claim: ClaimInsert): Promise<'committed' | 'replayed' | 'deviated'> {
    const { outcome } = await this.callGrantUnits(writes, claim);
    return outcome === 'ok' ? 'committed' : outcome;
  }

  /**
   * Inside `trx`, the call runs on the transaction's connection; without it (commitClaim, whose
   * call is its own transaction) it goes to a pooled connection as a prepared statement.
   */
  private async callGrantUnits(
    writes: ClaimWrites,
    claim: ClaimInsert | null,
    trx?: Knex,
  ): Promise<{ outcome: 'ok' | 'replayed' | 'deviated'; codes: number[] }> {
    const units = writes.units.map((u) => ({
      unit: u.unitId,
      limit: u.perPersonLimit,
      products: u.products.map((p) => ({
        activityId: p.activityId,
        productUri: p.productUri,
        startAt: p.startAt,
        endAt: p.endAt,
        activateType: p.activateType,
        grantedAt: p.grantedAt,
      })),
    }));
    const { nonce } = writes;
    const args: RoutineArgs<typeof GRANT_UNITS> = {
      p_activity_id: writes.activityId ?? null,
      p_app_id: nonce?.appId ?? claim?.appId ?? null,
      p_nonce: nonce?.nonce ?? null,
      p_now: nonce?.now ?? null,
      p_expired_before: nonce?.expiredBefore ?? null,
      p_identity: writes.identity,
      p_claim_id: writes.claimId,
      p_units: JSON.stringify(units),
      p_claim: claim === null ? null : JSON.stringify(claim),
    };
    type Answer = { outcome: string; codes: string | null };
    const row = (trx === undefined ? await callRoutine<Answer, typeof GRANT_UNITS>(this.knex, GRANT_UNITS, args) : await callRoutineIn<Answer, typeof GRANT_UNITS>(trx, GRANT_UNITS, args))[0];
    const outcome = row?.outcome;
    if (outcome === 'replayed') return { outcome, codes: [] };
    if ((outcome === 'ok' || outcome === 'deviated') && row?.codes !== null && row?.codes !== undefined) {
      return { outcome, codes: JSON.parse(row.codes) as number[] };
    }
    throw new Error(`${GRANT_UNITS.name} answered ${JSON.stringify(row)}`);
  }

  /**
   * Accepts a nonce for an app: inserts it, or re-takes one older than `expiredBefore`
   * (conditionally, so two racing re-takes cannot both win). False when it is a replay.
   */
  async acceptNonce(trx: Knex, appId: string, nonce: string, now: number, expiredBefore: number): Promise<boolean> {
    try {
      await trx(T.nonces).insert({ app_id: appId, nonce, created_at: now });
      return true;
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
    }
    // A plain read first: a live nonce is a replay without taking any lock, so racing
    // replays cannot deadlock each other upgrading the lock their failed inserts hold.
    const existing = await trx<{ created_at: number | string; app_id: string; nonce: string }>(T.nonces)
      .select('created_at')
      .where({ app_id: appId, nonce })
      .first();
    if (existing !== undefined && Number(existing.created_at) >= expiredBefore) return false;
    const retaken = await trx(T.nonces)
      .where({ app_id: appId, nonce })
      .andWhere('created_at', '<', expiredBefore)
      .update({ created_at: now });
    return retaken === 1;
  }

  async purgeNonces(expiredBefore: number): Promise<number> {
    return this.knex(T.nonces).where('created_at', '<', expiredBefore).delete();
  }

  /** One more grant for the identity in the unit, if under its per-person limit. */
  /** How many times the identity has been granted each of these units (absent: never). */
  async personCountsOf(identity: string, unitIds: readonly string[]): Promise<Map<string, number>> {
    if (unitIds.length === 0) return new Map();
    const rows = await this.knex(T.personCounts)
      .where({ identity })
      .whereIn('sub_activity_id', unitIds)
      .select<Array<{ sub_activity_id: string; identity: string; count: number | string }>>('sub_activity_id', 'identity', 'count');
    // Exact on both stores, whatever the column's collation.
    return new Map(rows.filter((r) => r.identity === identity).map((r) => [r.sub_activity_id, Number(r.count)]));
  }

  async takePersonSlot(trx: Knex, unitId: string, identity: string, limit: number): Promise<boolean> {
    await trx(T.personCounts).insert({ sub_activity_id: unitId, identity, count: 0 }).onConflict(['sub_activity_id', 'identity']).ignore();
    const changed = await trx(T.personCounts)
      .where({ sub_activity_id: unitId, identity })
      .andWhere('count', '<', limit)
      .increment('count', 1);
    return changed === 1;
  }

  /**
   * Gives back the slot this transaction just took (its row is still locked by us, so no other
   * writer saw the increment).
   */
  async returnPersonSlot(trx: Knex, unitId: string, identity: string): Promise<void> {
    await trx(T.personCounts).where({ sub_activity_id: unitId, identity }).andWhere('count', '>', 0).decrement('count', 1);
  }

  /** One more grant of the unit's quota, if any is left. */
  async takeQuota(trx: Knex, unitId: string): Promise<boolean> {
    const changed = await trx(T.units).where({ id: unitId }).andWhere('granted', '<', trx.ref('quota')).increment('granted', 1);
    return changed === 1;
  }

  async deleteEntitlements(trx: Knex, claimId: string, unitId: string): Promise<void> {
    await trx(T.entitlements).where({ claim_id: claimId, sub_activity_id: unitId }).delete();
  }

  async insertEntitlements(trx: Knex, identity: string, products: readonly GrantedProduct[]): Promise<void> {
    if (products.length === 0) return;
    await trx(T.entitlements).insert(
      products.map((p) => ({
        identity,
        claim_id: p.claimId,
        activity_id: p.activityId,
        sub_activity_id: p.subActivityId,
        product_uri: p.productUri,
        start_at: p.startAt,
        end_at: p.endAt,
        activate_type: p.activateType,
        granted_at: p.grantedAt,
      })),
    );
  }

  async entitlements(identity: string, beforeRowId: string | undefined, limit: number): Promise<Array<GrantedProduct & { rowId: string }>> {
    const query = this.knex<EntitlementRow>(T.entitlements).where({ identity });
    if (beforeRowId !== undefined) query.andWhere('id', '<', beforeRowId);
    const rows = await query.orderBy('id', 'desc').limit(limit);
    return rows.map(toEntitlement);
  }

  // --- claims ---------------------------------------------------------------------------

  async insertClaim(trx: Knex, claim: ClaimInsert): Promise<void> {
    await trx(T.claims).insert({
      id: claim.id,
      app_id: claim.appId,
      identity: claim.identity,
      activity_label: claim.activityLabel,
      request: claim.request,
      status: claim.status,
      result_code: claim.resultCode ?? null,
      outcome: claim.outcome ?? null,
      attempts: 0,
      lease_owner: null,
      lease_until: 0,
      created_at: claim.createdAt,
      completed_at: claim.completedAt ?? null,
    });
  }

  async claim(id: string): Promise<Claim | undefined> {
    const row = await this.knex<ClaimDbRow>(T.claims).where({ id }).first();
    return row === undefined ? undefined : toClaim(row);
  }

  /** Pending claims whose lease (if any) has run out, oldest first. */
  async claimableIds(nowMs: number, limit: number): Promise<string[]> {
    const rows = await this.knex<{ id: string; status: string; lease_until: number; created_at: number }>(T.claims)
      .select('id')
      .where({ status: 'pending' })
      .andWhere('lease_until', '<=', nowMs)
      .orderBy('created_at')
      .limit(limit);
    return rows.map((r) => r.id);
  }

  /**
   * Takes a pending claim for `owner` until `untilMs`, only if nobody holds a live lease:
   * two workers racing for one claim cannot both get it.
   */
  async leaseClaim(id: string, owner: string, nowMs: number, untilMs: number): Promise<Claim | undefined> {
    const changed = await this.knex(T.claims)
      .where({ id, status: 'pending' })
      .andWhere('lease_until', '<=', nowMs)
      .update({ lease_owner: owner, lease_until: untilMs, attempts: this.knex.raw('attempts + 1') });
    if (changed !== 1) return undefined;
    return this.claim(id);
  }

  /**
   * Completes a claim still pending and leased by `owner`; false when the lease was lost
   * (the caller then rolls back whatever it granted).
   */
  async completeClaim(
    trx: Knex,
    id: string,
    owner: string,
    status: ClaimStatus,
    resultCode: string,
    outcome: string,
    completedAt: number,
  ): Promise<boolean> {
    const changed = await trx(T.claims)
      .where({ id, status: 'pending', lease_owner: owner })
      .update({ status, result_code: resultCode, outcome, completed_at: completedAt, lease_owner: null });
    return changed === 1;
  }
}
