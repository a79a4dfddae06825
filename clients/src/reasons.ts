/**
 * Every stable `reason` huodong sends in its ErrorInfo, per area (the domain is
 * `huodong.<area>`), and the legacy codes the seeds define. This is the one list: the server's
 * domain errors take their reason type from it (src/platform/errors.ts), its legacy codes come
 * from here by area and reason (DomainError), and consumers compare against the
 * unions below, so a misspelt reason fails to compile on both sides.
 *
 * This module imports nothing, so it is cheap to load on its own: `@huodong/clients/reasons`.
 * Adding a reason is not a breaking change for the wire, but a client built from an older list
 * may see a reason its union does not name; compare with `isKnownReason` when that matters.
 */
export const reasons = {
  /** Raised by the platform for every area; the domain then names the area that raised it. */
  common: [
    'INVALID_ARGUMENT',
    'UNAUTHENTICATED',
    'SCOPE_MISSING',
    'LOCK_BUSY',
    'STORE_UNAVAILABLE',
    'IDEMPOTENCY_KEY_REUSED',
    'CONFLICT',
    'DEADLINE_EXCEEDED',
    'INTERNAL',
  ],
  userdata: ['CAS_CONFLICT'],
  member: [
    'INSUFFICIENT_CPOINT',
    'ORDER_NOT_FOUND',
    'ORDER_NOT_PAID',
    'ORDER_NOT_REVOCABLE',
    'API_CLOSED',
    'BALANCE_LIMIT',
    'LEGACY_APP_NOT_FOUND',
    'TASK_CONFLICT',
  ],
  points: [
    'INSUFFICIENT_POINTS',
    'PRIZE_NOT_FOUND',
    'TASK_NOT_FOUND',
    'PRIZE_UNAVAILABLE',
    'PRIZE_SOLD_OUT',
    'EXCHANGE_LIMIT_REACHED',
    'TASK_NOT_CLAIMABLE',
    'STOCK_BELOW_ZERO',
    'CONCURRENT_UPDATE',
  ],
  lottery: [
    'ACTIVITY_NOT_FOUND',
    'ACTIVITY_CONFIG_INVALID',
    'PRIZES_LOCKED',
    'USER_TOKEN_INVALID',
    'NOT_WHITELISTED',
    'AWARD_NOT_FOUND',
    'AWARD_ALREADY_CLAIMED',
    'AWARD_CHECKS_THROTTLED',
    'OPENID_CONFLICT',
  ],
  grant: ['NONCE_REPLAYED', 'CLAIM_NOT_FOUND', 'ACTIVITY_NOT_FOUND', 'SUB_ACTIVITY_NOT_FOUND', 'LABEL_TAKEN'],
  /** Raised by the REST bridge itself, in its legacy envelopes; never sent over gRPC. */
  bridge: ['BAD_SIGNATURE', 'ADMIN_REQUIRED', 'ENTRY_UNAUTHENTICATED', 'METHOD_NOT_ALLOWED'],
} as const;

/**
 * Legacy numeric codes (ErrorInfo metadata `legacy_code`, `HuodongError.legacyCode`) by
 * reason, where a seed defines one. They travel as decimal strings.
 */
export const legacyCodes = {
  /** Seed 001. */
  member: {
    LOCK_BUSY: 10000,
    INSUFFICIENT_CPOINT: 10001,
    ORDER_NOT_FOUND: 10003,
    ORDER_NOT_PAID: 10004,
    ORDER_NOT_REVOCABLE: 10007,
    API_CLOSED: 10100,
  },
  /** Seed 004 (a replayed nonce is its "bad parameters" code). */
  grant: {
    NONCE_REPLAYED: 1001,
  },
} as const;

type Catalog = typeof reasons;

/** An area of huodong; its errors carry the domain `huodong.<area>`. */
export type Area = keyof Catalog;
/** The ErrorInfo domain of an area. */
export type Domain = `huodong.${Area}`;

/** The reasons raised by every area. */
export type CommonReason = Catalog['common'][number];
/** The reasons an error of the given area's domain can carry: its own and the common ones. */
export type ReasonIn<A extends Area> = Catalog[A][number] | CommonReason;
export type UserdataReason = ReasonIn<'userdata'>;
export type MemberReason = ReasonIn<'member'>;
export type PointsReason = ReasonIn<'points'>;
export type LotteryReason = ReasonIn<'lottery'>;
export type GrantReason = ReasonIn<'grant'>;
/** Every reason huodong sends. */
export type Reason = ReasonIn<Area>;

type LegacyCatalog = typeof legacyCodes;
/** The legacy codes of an area, as the decimal strings they travel as. */
export type LegacyCodeIn<A extends keyof LegacyCatalog> = `${LegacyCatalog[A][keyof LegacyCatalog[A]] & number}`;
export type MemberLegacyCode = LegacyCodeIn<'member'>;
export type GrantLegacyCode = LegacyCodeIn<'grant'>;
/** Every legacy code huodong sends. */
export type LegacyCode = MemberLegacyCode | GrantLegacyCode;

const known: ReadonlySet<string> = new Set(Object.values(reasons).flat());

/** True when `reason` is in this version's list (a newer server may send one it is not). */
export function isKnownReason(reason: string): reason is Reason {
  return known.has(reason);
}
