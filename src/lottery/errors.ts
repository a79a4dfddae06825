import { DomainError } from '../platform/errors.js';

export const AREA = 'lottery';

/** Thrown when no activity has the given id or code. */
export class ActivityNotFoundError extends DomainError {
  constructor() {
    super('NOT_FOUND', 'ACTIVITY_NOT_FOUND', AREA, 'no such activity');
  }
}

/** Thrown when a legacy row cannot be parsed; names the column so an operator can fix it. */
export class ActivityConfigInvalidError extends DomainError {
  constructor(
    readonly column: string,
    problem: string,
  ) {
    super('FAILED_PRECONDITION', 'ACTIVITY_CONFIG_INVALID', AREA, `activity column ${column}: ${problem}`, {
      metadata: { column },
    });
  }
}

/** Thrown when SaveActivity would remove, reorder or lower a prize of a started activity. */
export class PrizesLockedError extends DomainError {
  constructor(field: string, problem: string) {
    super('FAILED_PRECONDITION', 'PRIZES_LOCKED', AREA, `${field}: ${problem} once the first session has started`, {
      metadata: { field },
    });
  }
}

/** Thrown when a user token is missing, forged, expired, or for another activity. */
export class InvalidUserTokenError extends DomainError {
  constructor(message = 'a valid user token is required') {
    super('UNAUTHENTICATED', 'USER_TOKEN_INVALID', AREA, message);
  }
}

/** Thrown when a user outside the whitelist enters a reward activity. */
export class NotWhitelistedError extends DomainError {
  constructor() {
    super('PERMISSION_DENIED', 'NOT_WHITELISTED', AREA, 'this activity is open to invited users only');
  }
}

/** Thrown when a verification secret matches no prize of the activity. */
export class AwardNotFoundError extends DomainError {
  constructor() {
    super('NOT_FOUND', 'AWARD_NOT_FOUND', AREA, 'no prize has this secret');
  }
}

/** Thrown on the second verification of a secret (virtual prizes are claimed when won). */
export class AwardAlreadyClaimedError extends DomainError {
  constructor() {
    super('FAILED_PRECONDITION', 'AWARD_ALREADY_CLAIMED', AREA, 'this prize has already been claimed');
  }
}

/** Thrown when too many award checks of one caller failed in one activity lately. */
export class AwardChecksThrottledError extends DomainError {
  constructor(readonly retryAfterSeconds: number) {
    super('RESOURCE_EXHAUSTED', 'AWARD_CHECKS_THROTTLED', AREA, `too many failed award checks, retry in ${retryAfterSeconds} s`, {
      metadata: { retry_after_s: String(retryAfterSeconds) },
    });
  }
}

/**
 * Thrown when an openid differs from a participant's only in letter case or trailing spaces:
 * a legacy table with a case-insensitive collation cannot hold both, so the second is refused
 * instead of being let into the first one's row.
 */
export class OpenidConflictError extends DomainError {
  constructor() {
    super('FAILED_PRECONDITION', 'OPENID_CONFLICT', AREA, 'another participant of this activity has an openid differing only in case or spaces');
  }
}
