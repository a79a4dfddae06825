/**
 * The grant area's domain types: activities, their units (sub-activities) and products, the
 * entitlements a claim grants, and claims. Column names stay in store.ts; the rules that judge
 * these are in rules.ts.
 */

export type IdentityKind = 'phone' | 'email' | 'enterprise_account' | 'lock_asset_number';

export type Mode = 'sync' | 'async';

export interface ActivityDef {
  readonly id: string;
  readonly label: string;
  readonly name: string;
  readonly enabled: boolean;
  readonly startAt: number;
  readonly endAt: number;
}

/** An activity as the admin RPCs save and answer it. */
export interface ActivityRecord extends ActivityDef {
  readonly blockedIdentities: readonly string[];
}

export interface FilterRules {
  readonly sources: readonly string[];
  readonly branches: readonly string[];
  readonly identityKinds: readonly IdentityKind[];
}

export type Validity = { readonly kind: 'fixed'; readonly startAt: number; readonly endAt: number } | { readonly kind: 'days'; readonly days: number };

/** 0: active when granted; 1: activated later (the legacy values). */
export type ActivateType = 0 | 1;

export interface ProductDef {
  readonly productUri: string;
  readonly validity: Validity;
  readonly activateType: ActivateType;
}

/** A unit (sub-activity) as the admin RPCs save it. */
export interface SubActivityRecord {
  readonly id: string;
  readonly activityId: string;
  readonly name: string;
  readonly enabled: boolean;
  readonly startAt: number | undefined;
  readonly endAt: number | undefined;
  readonly quota: number;
  readonly perPersonLimit: number;
  readonly filters: FilterRules;
  readonly products: readonly ProductDef[];
}

/** A unit as a claim judges it: its settings and how many it has granted. */
export interface UnitDef extends SubActivityRecord {
  readonly granted: number;
}

export interface GrantedProduct {
  readonly activityId: string;
  readonly subActivityId: string;
  readonly productUri: string;
  readonly startAt: number;
  readonly endAt: number;
  readonly activateType: ActivateType;
  readonly claimId: string;
  readonly grantedAt: number;
}

/** pending until the worker completes an async claim; granted or refused once decided. */
export type ClaimStatus = 'pending' | 'granted' | 'refused';

/** A recorded Participate call; its outcome (JSON) once decided. */
export interface Claim {
  readonly id: string;
  readonly appId: string;
  readonly identity: string;
  readonly activityLabel: string;
  readonly request: string;
  readonly status: ClaimStatus;
  readonly outcome: string | undefined;
  readonly attempts: number;
  readonly createdAt: number;
  readonly completedAt: number | undefined;
}
