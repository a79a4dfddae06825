/**
 * The grant rules in motion: Participate (sync or recorded for the background), the background
 * completion of recorded claims, and the admin operations. Every invariant is the database's:
 * the nonce by its unique key, the per-person limit and the quota by conditional updates, a
 * unit's products all or nothing inside the claim's transaction, a claim completed once by a
 * conditional update on its lease. Locks only keep contention down.
 */
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { Clock } from '../platform/clock.js';
import { classifyStoreError, retryConflicts } from '../platform/db.js';
import { LockBusyError, UnavailableError } from '../platform/errors.js';
import type { Locks } from '../platform/locks.js';
import type { Logger } from '../platform/logger.js';
import {
  ID,
  validateActivity,
  validateSubActivity,
  type ActivityInput,
  type SubActivityInput,
} from './admin.js';
import { ActivityNotFoundError, ClaimNotFoundError, errors, NonceReplayedError, SubActivityNotFoundError } from './errors.js';
import {
  activityGate,
  activityRefused,
  badParameter,
  canonicalIdentity,
  classifyIdentity,
  NONCE_WINDOW_SECONDS,
  productWindow,
  resolveOutcome,
  RESULT,
  simpleOutcome,
  UNIT_CODE,
  unitPrecheck,
  validateParticipate,
  verdict,
  type Outcome,
  type ParticipateInput,
  type RawParticipate,
} from './rules.js';
import type { ActivityDef, ActivityRecord, Claim, ClaimStatus, GrantedProduct, SubActivityRecord, UnitDef } from './model.js';
import type { ClaimWrites, GrantStore } from './store.js';

export interface GrantOptions {
  /** Delay before the background worker first looks for claims (tests simulate a crash with it). */
  readonly workerStartDelayMs?: number;
  /** How often the worker looks for pending claims when nothing woke it. */
  readonly pollIntervalMs?: number;
  /** How long a worker holds a claim; a claim of a crashed worker is retried after it. */
  readonly leaseMs?: number;
  /** Attempts before a claim that keeps failing is refused with "1002". */
  readonly maxAttempts?: number;
  /** How long Participate waits for the identity+activity lock. */
  readonly lockWaitMs?: number;
}

export const DEFAULTS = {
  workerStartDelayMs: 0,
  pollIntervalMs: 500,
  leaseMs: 30_000,
  maxAttempts: 5,
  lockWaitMs: 8_000,
} as const;

export interface ClaimView {
  readonly claimId: string;
  readonly status: ClaimStatus;
  /** Undefined while pending. */
  readonly outcome: Outcome | undefined;
  readonly identity: string;
  readonly activityLabel: string;
  readonly createdAtMs: number | undefined;
  readonly completedAtMs: number | undefined;
}

export interface EntitlementPage {
  readonly products: readonly GrantedProduct[];
  readonly nextPageToken: string;
}

/** The worker's lease ran out and another worker took the claim; this attempt is undone. */
class LeaseLostError extends Error {}

export function newId(): string {
  return randomBytes(16).toString('hex').toUpperCase();
}

const seconds = (at: Date): number => Math.floor(at.getTime() / 1000);

function statusOf(outcome: Outcome): ClaimStatus {
  return outcome.resultCode === RESULT.OK ? 'granted' : 'refused';
}

function lockKey(input: ParticipateInput): string {
  return `grant:${input.activityLabel}:${input.identity}`;
}

function viewOf(row: Claim): ClaimView {
  return {
    claimId: row.id,
    status: row.status,
    outcome: row.outcome === undefined ? undefined : (JSON.parse(row.outcome) as Outcome),
    identity: row.identity,
    activityLabel: row.activityLabel,
    createdAtMs: row.createdAt,
    completedAtMs: row.completedAt,
  };
}

/** Where a plan reads the activity (with whether it blocks the identity, when known) and its units. */
interface PlanReads {
  activity(): Promise<(ActivityDef & { readonly blocked?: boolean }) | undefined>;
  units(activityId: string): Promise<UnitDef[]>;
}

type Plan =
  | { readonly kind: 'refused'; readonly outcome: Outcome }
  | {
      readonly kind: 'units';
      readonly activity: ActivityDef;
      readonly units: ReadonlyArray<{ readonly unit: UnitDef; readonly code: number; readonly products: readonly GrantedProduct[] }>;
    };

/** The units a plan lets try to grant, as the store writes them. */
function eligibleWrites(plan: Plan): ClaimWrites['units'] {
  if (plan.kind === 'refused') return [];
  return plan.units.filter((u) => u.code === 0).map(({ unit, products }) => ({ unitId: unit.id, perPersonLimit: unit.perPersonLimit, products }));
}

/** The claim's outcome, given the codes the store answered for the plan's eligible units. */
function outcomeOf(plan: Plan, codes: readonly number[]): Outcome {
  if (plan.kind === 'refused') return plan.outcome;
  const granted: GrantedProduct[] = [];
  let next = 0;
  const verdicts = plan.units.map(({ unit, code, products }) => {
    const final = code === 0 ? codes[next++] ?? UNIT_CODE.QUOTA_EXHAUSTED : code;
    if (final === 0) granted.push(...products);
    return verdict(unit, final);
  });
  return resolveOutcome(plan.activity, verdicts, granted);
}

function completedView(id: string, input: ParticipateInput, now: Date, outcome: Outcome): ClaimView {
  return {
    claimId: id,
    status: statusOf(outcome),
    outcome,
    identity: input.identity,
    activityLabel: input.activityLabel,
    createdAtMs: now.getTime(),
    completedAtMs: now.getTime(),
  };
}

export interface GrantServiceDeps {
  readonly store: GrantStore;
  readonly locks: Locks;
  readonly clock: Clock;
  /** The service logs under `area: grant`. */
  readonly logger: Logger;
  readonly options?: GrantOptions;
}

export class GrantService {
  private notify: () => void = () => undefined;
  private readonly store: GrantStore;
  private readonly locks: Locks;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly options: Required<GrantOptions>;

  constructor(deps: GrantServiceDeps) {
    this.store = deps.store;
    this.locks = deps.locks;
    this.clock = deps.clock;
    this.logger = deps.logger.child({ area: errors.area });
    this.options = { ...DEFAULTS, ...deps.options };
  }

  /** The worker registers here to be woken as soon as a claim is recorded. */
  onPending(fn: () => void): void {
    this.notify = fn;
  }

  get settings(): Required<GrantOptions> {
    return this.options;
  }

  // --- Participate ----------------------------------------------------------------------

  async participate(appId: string, raw: RawParticipate): Promise<ClaimView> {
    const validated = validateParticipate(raw);
    if (!validated.ok) {
      return this.unrecorded(badParameter(validated.field, validated.problem), raw);
    }
    const input = validated.value;
    return input.mode === 'sync' ? this.participateSync(appId, input) : this.accept(appId, input);
  }

  /**
   * Async mode: what can be decided before granting is answered at once (refusedAtOnce), its
   * claim recorded completed with the nonce; otherwise the nonce and the pending claim are
   * committed together and the background grants. Until 2026-12-02 every async claim answered
   * pending ("0000"), an unknown label, a blocked identity and exhausted limits included.
   */
  private async accept(appId: string, input: ParticipateInput): Promise<ClaimView> {
    const now = this.clock.now();
    const id = newId();
    const refused = await this.refusedAtOnce(id, input, seconds(now));
    if (refused !== undefined) {
      await retryConflicts(() =>
        this.store.transaction(async (trx) => {
          await this.takeNonce(trx, appId, input.nonce, now);
          await this.store.insertClaim(trx, this.claimRecord(id, appId, input, now, statusOf(refused), refused));
        }),
      );
      return completedView(id, input, now, refused);
    }
    await retryConflicts(() =>
      this.store.transaction(async (trx) => {
        await this.takeNonce(trx, appId, input.nonce, now);
        await this.store.insertClaim(trx, this.claimRecord(id, appId, input, now, 'pending', undefined));
      }),
    );
    this.notify();
    return {
      claimId: id,
      status: 'pending',
      outcome: undefined,
      identity: input.identity,
      activityLabel: input.activityLabel,
      createdAtMs: now.getTime(),
      completedAtMs: undefined,
    };
  }

  /** Sync mode: nonce, grants and the completed claim commit in one transaction, or none do. */
  private async participateSync(appId: string, input: ParticipateInput): Promise<ClaimView> {
    const id = newId();
    try {
      return await this.locks.withLock(
        lockKey(input),
        async () => {
          const now = this.clock.now();
          const nonce = { appId, nonce: input.nonce, now: seconds(now), expiredBefore: seconds(now) - NONCE_WINDOW_SECONDS };
          const done = await this.participateAtOnce(appId, id, input, now, nonce);
          if (done !== undefined) return completedView(id, input, now, done);
          return retryConflicts(() =>
            this.store.transaction(async (trx) => {
              const outcome = await this.decide(trx, id, input, now, now, nonce);
              await this.store.insertClaim(trx, this.claimRecord(id, appId, input, now, statusOf(outcome), outcome));
              return completedView(id, input, now, outcome);
            }),
          );
        },
        { busy: errors.lockBusy, waitMs: this.options.lockWaitMs, ifUnavailable: 'proceed' },
      );
    } catch (err) {
      return this.unrecorded(this.processingFailure(err, id), input);
    }
  }

  /**
   * MySQL: plans the claim (reads and checks, outside any transaction), then writes the nonce,
   * the grants and the completed claim in one call that commits (GrantStore.commitClaim).
   * Undefined on SQLite, and when some unit did not grant after all (its limit or quota ran out
   * since the reads) or the activity blocks the identity: nothing was written then, and the
   * claim runs the long way, in its own transaction.
   */
  private async participateAtOnce(appId: string, id: string, input: ParticipateInput, now: Date, nonce: ClaimWrites['nonce']): Promise<Outcome | undefined> {
    if (!this.store.writesClaimsAtOnce) return undefined;
    const read = await this.store.activityAndUnits(input.activityLabel);
    const plan = await this.plan({ activity: async () => read?.activity, units: async () => read?.units ?? [] }, id, input, seconds(now), seconds(now));
    const writes = { identity: input.identity, claimId: id, nonce, units: eligibleWrites(plan), activityId: read?.activity.id };
    const outcome = outcomeOf(plan, writes.units.map(() => 0));
    const answer = await retryConflicts(() => this.store.commitClaim(writes, this.claimRecord(id, appId, input, now, statusOf(outcome), outcome)));
    if (answer === 'replayed') throw new NonceReplayedError();
    return answer === 'committed' ? outcome : undefined;
  }

  /**
   * The refusal an async claim gets at once, from reads alone: no activity (3001), an illegal
   * or blocked identity (1004), the activity's own gates (2001 filters, windows), or 3002 when
   * no unit can grant (its filters or window, a quota read as full, the identity's per-person
   * limit reached). Undefined when some unit may still grant: that is for the background, which
   * decides again under the lock. Such refusals do not go stale: grants and person counts only
   * grow.
   */
  private async refusedAtOnce(id: string, input: ParticipateInput, now: number): Promise<Outcome | undefined> {
    const reads: PlanReads = {
      activity: () => this.store.activityForParticipant(input.activityLabel, input.identity),
      units: (activityId) => this.store.unitsOf(activityId),
    };
    const plan = await this.plan(reads, id, input, now, now);
    if (plan.kind === 'refused') return plan.outcome;
    const open = plan.units.filter((u) => u.code === 0);
    const held = await this.store.personCountsOf(input.identity, open.map((u) => u.unit.id));
    const codes = open.map((u) => ((held.get(u.unit.id) ?? 0) >= u.unit.perPersonLimit ? UNIT_CODE.PERSON_LIMIT : 0));
    return codes.some((c) => c === 0) ? undefined : outcomeOf(plan, codes);
  }

  /** Maps a failed attempt to "1002", or rethrows what callers must see as an error. */
  private processingFailure(err: unknown, claimId: string): Outcome {
    if (err instanceof NonceReplayedError) throw err;
    const classified = classifyStoreError(err);
    if (classified instanceof UnavailableError) throw classified;
    if (err instanceof LockBusyError) return simpleOutcome(RESULT.PROCESSING_FAILURE, 'busy, retry shortly');
    this.logger.error({ err, claimId }, 'grant failed; answered 1002 and rolled back');
    return simpleOutcome(RESULT.PROCESSING_FAILURE);
  }

  private unrecorded(outcome: Outcome, request: { identity?: string | undefined; activityLabel?: string | undefined }): ClaimView {
    return {
      claimId: '',
      status: 'refused',
      outcome,
      identity: request.identity ?? '',
      activityLabel: request.activityLabel ?? '',
      createdAtMs: undefined,
      completedAtMs: undefined,
    };
  }

  private async takeNonce(trx: Knex, appId: string, nonce: string, now: Date): Promise<void> {
    const at = seconds(now);
    if (!(await this.store.acceptNonce(trx, appId, nonce, at, at - NONCE_WINDOW_SECONDS))) throw new NonceReplayedError();
  }

  private claimRecord(id: string, appId: string, input: ParticipateInput, now: Date, status: ClaimStatus, outcome: Outcome | undefined) {
    return {
      id,
      appId,
      identity: input.identity,
      activityLabel: input.activityLabel,
      request: JSON.stringify(input),
      status,
      resultCode: outcome?.resultCode,
      outcome: outcome === undefined ? undefined : JSON.stringify(outcome),
      createdAt: now.getTime(),
      completedAt: outcome === undefined ? undefined : now.getTime(),
    };
  }

  /**
   * Evaluates the activity and each unit for the request, then makes the claim's writes inside
   * `trx` in one go (the nonce, when given, and the grants of the units that passed their
   * checks). Windows are judged at `joinedAt`, when the claim was made, so a claim completed
   * late (after a restart) is not refused for time it spent waiting; "N days" entitlements
   * start at the grant. A replayed nonce throws NonceReplayedError.
   */
  private async decide(
    trx: Knex,
    claimId: string,
    input: ParticipateInput,
    nowDate: Date,
    joinedAtDate: Date = nowDate,
    nonce?: ClaimWrites['nonce'],
  ): Promise<Outcome> {
    const reads: PlanReads = {
      activity: () => this.store.activityForParticipant(input.activityLabel, input.identity, trx),
      units: (activityId) => this.store.unitsOf(activityId, trx),
    };
    const plan = await this.plan(reads, claimId, input, seconds(nowDate), seconds(joinedAtDate));
    const codes = await this.store.grantUnits(trx, { identity: input.identity, claimId, nonce, units: eligibleWrites(plan) });
    if (codes === 'replayed') throw new NonceReplayedError();
    return outcomeOf(plan, codes);
  }

  /** The reads and checks of a claim: an outcome already, or each unit's code before writing. */
  private async plan(reads: PlanReads, claimId: string, input: ParticipateInput, now: number, joinedAt: number): Promise<Plan> {
    const refused = (outcome: Outcome) => ({ kind: 'refused' as const, outcome });
    const activity = await reads.activity();
    if (activity === undefined) return refused(simpleOutcome(RESULT.NO_ACTIVITY));
    const kind = classifyIdentity(input.identity);
    if (kind === undefined) return refused(simpleOutcome(RESULT.ILLEGAL_PARTICIPANT, 'identity is of no known kind'));
    if (activity.blocked === true) return refused(simpleOutcome(RESULT.ILLEGAL_PARTICIPANT, 'identity is blocked'));
    const gate = activityGate(activity, joinedAt);
    if (gate !== 0) return refused(activityRefused(activity, gate));
    const units = await reads.units(activity.id);
    if (units.length === 0) return refused(activityRefused(activity, UNIT_CODE.ACTIVITY_EMPTY));
    return {
      kind: 'units',
      activity,
      units: units.map((unit) => {
        const pre = unitPrecheck(unit, activity, input, kind, joinedAt);
        // Granted never goes down, so a unit read as full is full; this only spares the writes.
        const code = pre !== 0 ? pre : unit.granted >= unit.quota ? UNIT_CODE.QUOTA_EXHAUSTED : 0;
        // Only a unit that may grant needs its products (outcomeOf lists those of granted units).
        const products = code !== 0 ? [] : unit.products.map((p) => ({
          ...productWindow(p, now),
          activityId: activity.id,
          subActivityId: unit.id,
          productUri: p.productUri,
          activateType: p.activateType,
          claimId,
          grantedAt: now,
        }));
        return { unit, code, products };
      }),
    };
  }

  // --- background completion ------------------------------------------------------------

  /**
   * Leases and completes up to `batch` pending claims whose lease ran out. Returns how many
   * it found, so the worker knows whether to look again at once.
   */
  async completePending(owner: string, batch: number): Promise<number> {
    const nowMs = this.clock.now().getTime();
    const ids = await this.store.claimableIds(nowMs, batch);
    await Promise.all(
      ids.map(async (id) => {
        const claim = await this.store.leaseClaim(id, owner, nowMs, nowMs + this.options.leaseMs);
        if (claim !== undefined) await this.complete(claim, owner);
      }),
    );
    return ids.length;
  }

  private async complete(claim: Claim, owner: string): Promise<void> {
    const input = JSON.parse(claim.request) as ParticipateInput;
    try {
      await this.locks.withLock(
        lockKey(input),
        () =>
          retryConflicts(() =>
            this.store.transaction(async (trx) => {
              const now = this.clock.now();
              const outcome = await this.decide(trx, claim.id, input, now, new Date(claim.createdAt));
              const done = await this.store.completeClaim(
                trx,
                claim.id,
                owner,
                statusOf(outcome),
                outcome.resultCode,
                JSON.stringify(outcome),
                now.getTime(),
              );
              if (!done) throw new LeaseLostError();
            }),
          ),
        { busy: errors.lockBusy, waitMs: this.options.lockWaitMs, ifUnavailable: 'proceed' },
      );
    } catch (err) {
      if (err instanceof LeaseLostError) return;
      this.logger.warn({ err, claimId: claim.id, attempts: claim.attempts }, 'claim completion failed; it will be retried');
      // A store that is down is no reason to refuse the claim for good: it waits until it is back.
      if (claim.attempts < this.options.maxAttempts || classifyStoreError(err) instanceof UnavailableError) return;
      const outcome = simpleOutcome(RESULT.PROCESSING_FAILURE);
      await this.store
        .transaction((trx) =>
          this.store.completeClaim(trx, claim.id, owner, 'refused', outcome.resultCode, JSON.stringify(outcome), this.clock.now().getTime()),
        )
        .catch((e: unknown) => this.logger.error({ err: e, claimId: claim.id }, 'could not refuse a failing claim'));
    }
  }

  async purgeNonces(): Promise<number> {
    return this.store.purgeNonces(seconds(this.clock.now()) - NONCE_WINDOW_SECONDS);
  }

  // --- reads and admin ------------------------------------------------------------------

  async getClaim(appId: string, claimId: string): Promise<ClaimView> {
    if (!ID.test(claimId)) throw errors.invalid('claim_id', 'must be 32 upper-case hex digits');
    const row = await this.store.claim(claimId);
    if (row === undefined || row.appId !== appId) throw new ClaimNotFoundError();
    return viewOf(row);
  }

  async saveActivity(input: ActivityInput): Promise<ActivityRecord> {
    const valid = validateActivity(input);
    const record: ActivityRecord = { ...valid, id: valid.id ?? newId() };
    const saved = await this.store.saveActivity(record, valid.id === undefined, seconds(this.clock.now()));
    if (!saved) throw new ActivityNotFoundError('activity.id');
    return record;
  }

  async saveSubActivity(input: SubActivityInput): Promise<SubActivityRecord & { granted: number }> {
    const valid = validateSubActivity(input);
    if ((await this.store.activityById(valid.activityId)) === undefined) throw new ActivityNotFoundError('sub_activity.activity_id');
    const record: SubActivityRecord = { ...valid, id: valid.id ?? newId() };
    const saved = await this.store.saveUnit(record, valid.id === undefined, seconds(this.clock.now()));
    if (!saved) throw new SubActivityNotFoundError();
    const stored = await this.store.unitById(record.id);
    return { ...record, granted: stored?.granted ?? 0 };
  }

  async listEntitlements(identityRaw: string, pageSize: number, pageToken: string): Promise<EntitlementPage> {
    const identity = canonicalIdentity(identityRaw.trim());
    if (identity === '') throw errors.invalid('identity', 'is required');
    if ([...identity].length > 128) throw errors.invalid('identity', 'must be at most 128 characters');
    if (!Number.isInteger(pageSize) || pageSize < 0 || pageSize > 100) throw errors.invalid('page_size', 'must be 0..100');
    let before: string | undefined;
    if (pageToken !== '') {
      const decoded = Buffer.from(pageToken, 'base64url').toString('utf8');
      if (!/^\d{1,19}$/.test(decoded)) throw errors.invalid('page_token', 'is not a token this RPC returned');
      before = decoded;
    }
    const limit = pageSize === 0 ? 50 : pageSize;
    const rows = await this.store.entitlements(identity, before, limit + 1);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      products: page.map(({ rowId: _rowId, ...p }) => p),
      nextPageToken: rows.length > limit && last !== undefined ? Buffer.from(last.rowId).toString('base64url') : '',
    };
  }
}

