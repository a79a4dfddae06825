/**
 * The pure rules of activity grants: request validation, identity kinds, the verdict of an
 * activity and of each unit, entitlement windows and the seed's result codes. No I/O here;
 * time comes in as unix seconds.
 */
import type { ActivityDef, GrantedProduct, IdentityKind, Mode, ProductDef, UnitDef } from './model.js';

export const IDENTITY_KINDS: readonly IdentityKind[] = ['phone', 'email', 'enterprise_account', 'lock_asset_number'];


/** The seed's result codes. */
export const RESULT = {
  OK: '0000',
  BAD_PARAMETER: '1001',
  PROCESSING_FAILURE: '1002',
  ILLEGAL_PARTICIPANT: '1004',
  FILTERED: '2001',
  NO_ACTIVITY: '3001',
  NOTHING_TO_GRANT: '3002',
} as const;
export type ResultCode = (typeof RESULT)[keyof typeof RESULT];

export const RESULT_MESSAGES: Record<ResultCode, string> = {
  '0000': '办理成功!',
  '1001': '请求参数错误',
  '1002': '处理异常,请稍后重试',
  '1004': '非法的参与者信息',
  '2001': '被过滤规则丢弃',
  '3001': '您要办理的活动不存在!',
  '3002': '没有您可以办理的活动',
};

/** Unit (14001..14008) and activity (14101..14104) error codes of a "3002" answer. */
export const UNIT_CODE = {
  NOT_STARTED: 14001,
  ENDED: 14002,
  DISABLED: 14003,
  QUOTA_EXHAUSTED: 14004,
  PERSON_LIMIT: 14005,
  SOURCE_FILTERED: 14006,
  BRANCH_FILTERED: 14007,
  KIND_FILTERED: 14008,
  ACTIVITY_NOT_STARTED: 14101,
  ACTIVITY_ENDED: 14102,
  ACTIVITY_DISABLED: 14103,
  ACTIVITY_EMPTY: 14104,
} as const;

export const CODE_MESSAGES: Record<number, string> = {
  14001: '活动单元尚未开始',
  14002: '活动单元已结束',
  14003: '活动单元已停用',
  14004: '活动单元名额已领完',
  14005: '个人领取次数超限',
  14006: '来源不在活动单元允许范围内',
  14007: '分支不在活动单元允许范围内',
  14008: '参与者类型不在活动单元允许范围内',
  14101: '活动尚未开始',
  14102: '活动已结束',
  14103: '活动已停用',
  14104: '活动没有活动单元',
};

/** The filter rule behind each filter code, named in a "2001" answer. */
export const FILTER_RULE_OF: Readonly<Record<number, string>> = {
  14006: 'source',
  14007: 'branch',
  14008: 'identity_kind',
};

export const NONCE_WINDOW_SECONDS = 600;

export interface ParticipateInput {
  readonly identity: string;
  readonly activityLabel: string;
  readonly source: string;
  readonly branch: string;
  readonly extParams: Readonly<Record<string, string>>;
  readonly nonce: string;
  readonly mode: Mode;
}

export interface RawParticipate {
  readonly identity?: string | undefined;
  readonly activityLabel?: string | undefined;
  readonly source?: string | undefined;
  readonly branch?: string | undefined;
  readonly extParams?: Readonly<Record<string, string>> | undefined;
  readonly nonce?: string | undefined;
}

export type Validated<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly field: string; readonly problem: string };

const CONTROL = /\p{Cc}/u;
const NONCE = /^[\x21-\x7e]{1,128}$/;
const MAX_EXT_PARAMS = 20;
const MAX_EXT_CHARS = 256;

function chars(s: string): number {
  return [...s].length;
}

function text(value: string | undefined, field: string, max: number, required: boolean): Validated<string> {
  const v = (value ?? '').trim();
  if (v === '') return required ? { ok: false, field, problem: 'is required' } : { ok: true, value: '' };
  if (chars(v) > max) return { ok: false, field, problem: `must be at most ${max} characters` };
  if (CONTROL.test(v)) return { ok: false, field, problem: 'must not contain control characters' };
  return { ok: true, value: v };
}

/** Checks a Participate request; the first bad parameter is named (answered as "1001"). */
export function validateParticipate(raw: RawParticipate): Validated<ParticipateInput> {
  const identity = text(raw.identity, 'identity', 128, true);
  if (!identity.ok) return identity;
  const activityLabel = text(raw.activityLabel, 'activity_label', 64, true);
  if (!activityLabel.ok) return activityLabel;
  const source = text(raw.source, 'source', 64, true);
  if (!source.ok) return source;
  const branch = text(raw.branch, 'branch', 64, false);
  if (!branch.ok) return branch;
  const extParams = raw.extParams ?? {};
  const keys = Object.keys(extParams);
  if (keys.length > MAX_EXT_PARAMS) return { ok: false, field: 'ext_params', problem: `must have at most ${MAX_EXT_PARAMS} entries` };
  for (const key of keys) {
    const value = extParams[key] ?? '';
    if (chars(key) > MAX_EXT_CHARS || chars(value) > MAX_EXT_CHARS) {
      return { ok: false, field: `ext_params.${key.slice(0, 32)}`, problem: `keys and values must be at most ${MAX_EXT_CHARS} characters` };
    }
  }
  const modeRaw = (extParams.mode ?? '').trim().toLowerCase();
  if (modeRaw !== '' && modeRaw !== 'sync' && modeRaw !== 'async') {
    return { ok: false, field: 'ext_params.mode', problem: 'must be "sync" or "async"' };
  }
  const nonce = raw.nonce ?? '';
  if (nonce === '') return { ok: false, field: 'nonce', problem: 'is required' };
  if (!NONCE.test(nonce)) return { ok: false, field: 'nonce', problem: 'must be 1..128 printable ASCII characters' };
  return {
    ok: true,
    value: {
      identity: canonicalIdentity(identity.value),
      activityLabel: activityLabel.value,
      source: source.value,
      branch: branch.value,
      extParams: { ...extParams },
      nonce,
      mode: modeRaw === 'sync' ? 'sync' : 'async',
    },
  };
}

const PHONE = /^1[3-9]\d{9}$/;
const EMAIL = /^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$/;
const ENTERPRISE = /^[A-Za-z][A-Za-z0-9_.-]{2,63}$/;
const LOCK_ASSET = /^\d{6,20}$/;

/**
 * One person, one identity: e-mail addresses and enterprise accounts do not tell letter case
 * apart, so they are kept in lower case (otherwise "Alice@corp.com" and "alice@corp.com" would
 * each take the per-person limit, and a block of one would miss the other).
 */
export function canonicalIdentity(identity: string): string {
  const kind = classifyIdentity(identity);
  return kind === 'email' || kind === 'enterprise_account' ? identity.toLowerCase() : identity;
}

/** The kind of an identity, told from its form; undefined when it is of no known kind. */
export function classifyIdentity(identity: string): IdentityKind | undefined {
  if (PHONE.test(identity)) return 'phone';
  if (identity.length <= 254 && EMAIL.test(identity)) return 'email';
  if (LOCK_ASSET.test(identity)) return 'lock_asset_number';
  if (ENTERPRISE.test(identity)) return 'enterprise_account';
  return undefined;
}

export interface UnitVerdict {
  readonly id: string;
  readonly name: string;
  readonly participateResult: boolean;
  readonly errorCode: number;
  readonly errorMessage: string;
}

export interface ActivityVerdict {
  readonly id: string;
  readonly name: string;
  readonly participateResult: boolean;
  readonly errorCode: number;
  readonly errorMessage: string;
  readonly units: readonly UnitVerdict[];
}

/** A claim's outcome, stored as JSON and answered as is by Participate and GetClaim. */
export interface Outcome {
  readonly resultCode: ResultCode;
  readonly resultMessage: string;
  readonly products: readonly GrantedProduct[];
  readonly activities: readonly ActivityVerdict[];
  readonly invalidField?: string;
  readonly filterRule?: string;
}

export function simpleOutcome(resultCode: ResultCode, detail?: string): Outcome {
  const base = RESULT_MESSAGES[resultCode];
  return { resultCode, resultMessage: detail === undefined ? base : `${base}: ${detail}`, products: [], activities: [] };
}

export function badParameter(field: string, problem: string): Outcome {
  return { ...simpleOutcome(RESULT.BAD_PARAMETER, `${field} ${problem}`), invalidField: field };
}

/** Why the activity itself refuses (0 when open); units are evaluated only when it is open. */
export function activityGate(activity: ActivityDef, now: number): number {
  if (!activity.enabled) return UNIT_CODE.ACTIVITY_DISABLED;
  if (now < activity.startAt) return UNIT_CODE.ACTIVITY_NOT_STARTED;
  if (now >= activity.endAt) return UNIT_CODE.ACTIVITY_ENDED;
  return 0;
}

/**
 * The checks of a unit that need no write: filters first (so "2001" names a filter), then
 * status and window. 0 means the unit may try to grant (limit and quota are the database's).
 */
export function unitPrecheck(
  unit: UnitDef,
  activity: ActivityDef,
  request: { readonly source: string; readonly branch: string },
  kind: IdentityKind,
  now: number,
): number {
  const { filters } = unit;
  if (filters.sources.length > 0 && !filters.sources.includes(request.source)) return UNIT_CODE.SOURCE_FILTERED;
  if (filters.branches.length > 0 && !filters.branches.includes(request.branch)) return UNIT_CODE.BRANCH_FILTERED;
  if (filters.identityKinds.length > 0 && !filters.identityKinds.includes(kind)) return UNIT_CODE.KIND_FILTERED;
  if (!unit.enabled) return UNIT_CODE.DISABLED;
  if (now < Math.max(activity.startAt, unit.startAt ?? activity.startAt)) return UNIT_CODE.NOT_STARTED;
  if (now >= Math.min(activity.endAt, unit.endAt ?? activity.endAt)) return UNIT_CODE.ENDED;
  return 0;
}

const DAY = 86_400;

/** The entitlement window of a product granted at `now`. */
export function productWindow(product: ProductDef, now: number): { startAt: number; endAt: number } {
  if (product.validity.kind === 'fixed') return { startAt: product.validity.startAt, endAt: product.validity.endAt };
  return { startAt: now, endAt: now + product.validity.days * DAY };
}

export function verdict(unit: { readonly id: string; readonly name: string }, code: number): UnitVerdict {
  return {
    id: unit.id,
    name: unit.name,
    participateResult: code === 0,
    errorCode: code,
    errorMessage: code === 0 ? '' : CODE_MESSAGES[code] ?? '',
  };
}

/** Turns the verdicts of an open activity's units into the seed's result. */
export function resolveOutcome(activity: ActivityDef, units: readonly UnitVerdict[], products: readonly GrantedProduct[]): Outcome {
  const granted = units.some((u) => u.participateResult);
  const activities: ActivityVerdict[] = [
    { id: activity.id, name: activity.name, participateResult: granted, errorCode: 0, errorMessage: '', units },
  ];
  if (granted) return { ...simpleOutcome(RESULT.OK), products, activities };
  const first = units[0];
  if (first !== undefined && units.every((u) => FILTER_RULE_OF[u.errorCode] !== undefined)) {
    const rule = FILTER_RULE_OF[first.errorCode] ?? '';
    return { ...simpleOutcome(RESULT.FILTERED, `${rule} (${first.errorMessage})`), activities, filterRule: rule };
  }
  return { ...simpleOutcome(RESULT.NOTHING_TO_GRANT), activities };
}

/** A "3002" for an activity that refuses as a whole (not started, ended, disabled, empty). */
export function activityRefused(activity: ActivityDef, code: number): Outcome {
  return {
    ...simpleOutcome(RESULT.NOTHING_TO_GRANT),
    activities: [
      { id: activity.id, name: activity.name, participateResult: false, errorCode: code, errorMessage: CODE_MESSAGES[code] ?? '', units: [] },
    ],
  };
}
