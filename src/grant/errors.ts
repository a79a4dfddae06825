import { legacyCodes } from '@huodong/clients/reasons';
import { DomainError } from '../platform/errors.js';

export const AREA = 'grant';

/** Thrown when a nonce was already accepted for this app within the anti-replay window. */
export class NonceReplayedError extends DomainError {
  constructor() {
    super('ALREADY_EXISTS', 'NONCE_REPLAYED', AREA, 'this nonce was already used within the last 10 minutes', {
      legacyCode: legacyCodes.grant.NONCE_REPLAYED,
      metadata: { field: 'nonce' },
    });
  }
}

/** Thrown when GetClaim names a claim this app did not make (or none at all). */
export class ClaimNotFoundError extends DomainError {
  constructor() {
    super('NOT_FOUND', 'CLAIM_NOT_FOUND', AREA, 'no such claim for this app');
  }
}

/** Thrown when an admin call names an activity that does not exist. */
export class ActivityNotFoundError extends DomainError {
  constructor(field = 'id') {
    super('NOT_FOUND', 'ACTIVITY_NOT_FOUND', AREA, 'no such activity', { metadata: { field } });
  }
}

/** Thrown when SaveSubActivity names a unit that does not exist (or not in that activity). */
export class SubActivityNotFoundError extends DomainError {
  constructor() {
    super('NOT_FOUND', 'SUB_ACTIVITY_NOT_FOUND', AREA, 'no such sub-activity in this activity', {
      metadata: { field: 'sub_activity.id' },
    });
  }
}

/** Thrown when SaveActivity would give an activity a label another activity holds. */
export class LabelTakenError extends DomainError {
  constructor() {
    super('ALREADY_EXISTS', 'LABEL_TAKEN', AREA, 'another activity already has this label', {
      metadata: { field: 'activity.label' },
    });
  }
}
