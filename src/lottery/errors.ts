import { areaErrors } from '../platform/errors.js';

export const errors = areaErrors('lottery');

/** Thrown when no activity has the given id or code. */
export class ActivityNotFoundError extends errors.define({ kind: 'NOT_FOUND', reason: 'ACTIVITY_NOT_FOUND', message: 'no such activity' }) {}

/** Thrown when a legacy row cannot be parsed; names the column so an operator can fix it. */
export class ActivityConfigInvalidError extends errors.define({
  kind: 'FAILED_PRECONDITION',
  reason: 'ACTIVITY_CONFIG_INVALID',
  message: (column: string, problem: string) => `activity column ${column}: ${problem}`,
  metadata: (column: string) => ({ column }),
}) {}

/** Thrown when SaveActivity would remove, reorder or lower a prize of a started activity. */
export class PrizesLockedError extends errors.define({
  kind: 'FAILED_PRECONDITION',
  reason: 'PRIZES_LOCKED',
  message: (field: string, problem: string) => `${field}: ${problem} once the first session has started`,
  metadata: (field: string) => ({ field }),
}) {}

/** Thrown when a user token is missing, forged, expired, or for another activity. */
export class InvalidUserTokenError extends errors.define({
  kind: 'UNAUTHENTICATED',
  reason: 'USER_TOKEN_INVALID',
  message: (message: string = 'a valid user token is required') => message,
}) {}

/** Thrown when a user outside the whitelist enters a reward activity. */
export class NotWhitelistedError extends errors.define({
  kind: 'PERMISSION_DENIED',
  reason: 'NOT_WHITELISTED',
  message: 'this activity is open to invited users only',
}) {}

/** Thrown when a verification secret matches no prize of the activity. */
export class AwardNotFoundError extends errors.define({ kind: 'NOT_FOUND', reason: 'AWARD_NOT_FOUND', message: 'no prize has this secret' }) {}

/** Thrown on the second verification of a secret (virtual prizes are claimed when won). */
export class AwardAlreadyClaimedError extends errors.define({
  kind: 'FAILED_PRECONDITION',
  reason: 'AWARD_ALREADY_CLAIMED',
  message: 'this prize has already been claimed',
}) {}

/** Thrown when too many award checks of one caller failed in one activity lately. */
export class AwardChecksThrottledError extends errors.define({
  kind: 'RESOURCE_EXHAUSTED',
  reason: 'AWARD_CHECKS_THROTTLED',
  message: (retryAfterSeconds: number) => `too many failed award checks, retry in ${retryAfterSeconds} s`,
  metadata: (retryAfterSeconds: number) => ({ retry_after_s: String(retryAfterSeconds) }),
}) {}

/**
 * Thrown when an openid differs from a participant's only in letter case or trailing spaces:
 * a legacy table with a case-insensitive collation cannot hold both, so the second is refused
 * instead of being let into the first one's row.
 */
export class OpenidConflictError extends errors.define({
  kind: 'FAILED_PRECONDITION',
  reason: 'OPENID_CONFLICT',
  message: 'another participant of this activity has an openid differing only in case or spaces',
}) {}
