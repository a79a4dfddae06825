/** Validation of the admin inputs (activities and units); bad input names its field. */
import { errors } from './errors.js';
import type { ActivateType, ActivityRecord, IdentityKind, ProductDef, SubActivityRecord } from './model.js';
import { canonicalIdentity } from './rules.js';

export type StatusInput = 'enabled' | 'disabled' | 'unspecified';

export interface ActivityInput {
  readonly id: string;
  readonly label: string;
  readonly name: string;
  readonly status: StatusInput;
  readonly startTime: Date | undefined;
  readonly endTime: Date | undefined;
  readonly blockedIdentities: readonly string[];
}

export interface ProductInput {
  readonly productUri: string;
  readonly validity:
    | { readonly kind: 'fixed'; readonly startTime: Date | undefined; readonly endTime: Date | undefined }
    | { readonly kind: 'days'; readonly days: number }
    | undefined;
  readonly activateType: ActivateType | undefined;
}

export interface SubActivityInput {
  readonly id: string;
  readonly activityId: string;
  readonly name: string;
  readonly status: StatusInput;
  readonly startTime: Date | undefined;
  readonly endTime: Date | undefined;
  readonly quota: string;
  readonly perPersonLimit: number;
  readonly allowedSources: readonly string[];
  readonly allowedBranches: readonly string[];
  /** undefined stands for an unknown or unspecified kind. */
  readonly identityKinds: ReadonlyArray<IdentityKind | undefined>;
  readonly products: readonly ProductInput[];
}

export const ID = /^[0-9A-F]{32}$/;
const CONTROL = /\p{Cc}/u;
const LABEL = /^[^\s\p{C}]{1,64}$/u;
const MAX_BLOCKED = 1000;
const MAX_FILTER_VALUES = 100;
const MAX_PRODUCTS = 50;
const MAX_QUOTA = 1_000_000_000n;
const MAX_PERSON_LIMIT = 1000;
const MAX_DAYS = 36_500;
/** 1970..9999: what both stores and the legacy date format represent. */
const MAX_SECONDS = 253_402_300_799;

function name(value: string, field: string, max: number): string {
  const v = value.trim();
  if (v === '') throw errors.invalid(field, 'is required');
  if ([...v].length > max) throw errors.invalid(field, `must be at most ${max} characters`);
  if (CONTROL.test(v)) throw errors.invalid(field, 'must not contain control characters');
  return v;
}

function seconds(value: Date | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = value.getTime();
  if (!Number.isFinite(ms) || ms < 0 || ms / 1000 > MAX_SECONDS) throw errors.invalid(field, 'must be between 1970 and 9999');
  return Math.floor(ms / 1000);
}

function window(start: Date | undefined, end: Date | undefined, prefix: string, required: boolean): { startAt: number | undefined; endAt: number | undefined } {
  const startAt = seconds(start, `${prefix}start_time`);
  const endAt = seconds(end, `${prefix}end_time`);
  if (required && startAt === undefined) throw errors.invalid(`${prefix}start_time`, 'is required');
  if (required && endAt === undefined) throw errors.invalid(`${prefix}end_time`, 'is required');
  if (startAt !== undefined && endAt !== undefined && endAt <= startAt) throw errors.invalid(`${prefix}end_time`, 'must be after start_time');
  return { startAt, endAt };
}

export function optionalId(id: string, field: string): string | undefined {
  if (id === '') return undefined;
  if (!ID.test(id)) throw errors.invalid(field, 'must be 32 upper-case hex digits');
  return id;
}

export function validateActivity(input: ActivityInput): Omit<ActivityRecord, 'id'> & { id: string | undefined } {
  const id = optionalId(input.id, 'activity.id');
  const label = input.label.trim();
  if (label === '') throw errors.invalid('activity.label', 'is required');
  if (!LABEL.test(label)) throw errors.invalid('activity.label', 'must be 1..64 characters without spaces');
  const { startAt, endAt } = window(input.startTime, input.endTime, 'activity.', true);
  if (input.blockedIdentities.length > MAX_BLOCKED) throw errors.invalid('activity.blocked_identities', `must have at most ${MAX_BLOCKED} entries`);
  const blocked = new Set<string>();
  for (const identity of input.blockedIdentities) {
    blocked.add(canonicalIdentity(name(identity, 'activity.blocked_identities', 128)));
  }
  return {
    id,
    label,
    name: name(input.name, 'activity.name', 128),
    enabled: input.status !== 'disabled',
    startAt: startAt ?? 0,
    endAt: endAt ?? 0,
    blockedIdentities: [...blocked],
  };
}

function filterValues(values: readonly string[], field: string): string[] {
  if (values.length > MAX_FILTER_VALUES) throw errors.invalid(field, `must have at most ${MAX_FILTER_VALUES} entries`);
  return [...new Set(values.map((v) => name(v, field, 64)))];
}

function product(input: ProductInput, at: number): ProductDef {
  const prefix = `sub_activity.products[${at}].`;
  const productUri = name(input.productUri, `${prefix}product_uri`, 256);
  if (input.activateType === undefined) throw errors.invalid(`${prefix}activate_type`, 'must be ACTIVATE_TYPE_ON_GRANT or ACTIVATE_TYPE_LATER');
  const v = input.validity;
  if (v === undefined) throw errors.invalid(`${prefix}validity`, 'is required: fixed_window or days');
  if (v.kind === 'days') {
    if (!Number.isInteger(v.days) || v.days < 1 || v.days > MAX_DAYS) throw errors.invalid(`${prefix}days`, `must be 1..${MAX_DAYS}`);
    return { productUri, validity: { kind: 'days', days: v.days }, activateType: input.activateType };
  }
  const w = window(v.startTime, v.endTime, `${prefix}fixed_window.`, true);
  return { productUri, validity: { kind: 'fixed', startAt: w.startAt ?? 0, endAt: w.endAt ?? 0 }, activateType: input.activateType };
}

export function validateSubActivity(input: SubActivityInput): Omit<SubActivityRecord, 'id'> & { id: string | undefined } {
  const id = optionalId(input.id, 'sub_activity.id');
  const activityId = optionalId(input.activityId, 'sub_activity.activity_id');
  if (activityId === undefined) throw errors.invalid('sub_activity.activity_id', 'is required');
  const { startAt, endAt } = window(input.startTime, input.endTime, 'sub_activity.', false);
  if (!/^\d{1,19}$/.test(input.quota) || BigInt(input.quota) < 1n || BigInt(input.quota) > MAX_QUOTA) {
    throw errors.invalid('sub_activity.quota', `must be 1..${MAX_QUOTA}`);
  }
  if (!Number.isInteger(input.perPersonLimit) || input.perPersonLimit < 1 || input.perPersonLimit > MAX_PERSON_LIMIT) {
    throw errors.invalid('sub_activity.per_person_limit', `must be 1..${MAX_PERSON_LIMIT}`);
  }
  const identityKinds: IdentityKind[] = [];
  for (const kind of input.identityKinds) {
    if (kind === undefined) throw errors.invalid('sub_activity.filter_rules.identity_kinds', 'must name known identity kinds');
    if (!identityKinds.includes(kind)) identityKinds.push(kind);
  }
  if (input.products.length === 0) throw errors.invalid('sub_activity.products', 'at least one product is required');
  if (input.products.length > MAX_PRODUCTS) throw errors.invalid('sub_activity.products', `must have at most ${MAX_PRODUCTS} entries`);
  const products = input.products.map(product);
  const uris = new Set(products.map((p) => p.productUri));
  if (uris.size !== products.length) throw errors.invalid('sub_activity.products', 'product_uri must be unique within the sub-activity');
  return {
    id,
    activityId,
    name: name(input.name, 'sub_activity.name', 128),
    enabled: input.status !== 'disabled',
    startAt,
    endAt,
    quota: Number(input.quota),
    perPersonLimit: input.perPersonLimit,
    filters: {
      sources: filterValues(input.allowedSources, 'sub_activity.filter_rules.allowed_sources'),
      branches: filterValues(input.allowedBranches, 'sub_activity.filter_rules.allowed_branches'),
      identityKinds,
    },
    products,
  };
}
