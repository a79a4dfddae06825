import { areaErrors } from '../platform/errors.js';

/** A replayed nonce carries seed 004's code (see DomainError). */
export const errors = areaErrors('grant');

/** Thrown when a nonce was already accepted for this app within the anti-replay window. */
export class NonceReplayedError extends errors.define({
  kind: 'ALREADY_EXISTS',
  reason: 'NONCE_REPLAYED',
  message: 'this nonce was already used within the last 10 minutes',
  metadata: { field: 'nonce' },
}) {}

/** Thrown when GetClaim names a claim this app did not make (or none at all). */
export class ClaimNotFoundError extends errors.define({ kind: 'NOT_FOUND', reason: 'CLAIM_NOT_FOUND', message: 'no such claim for this app' }) {}

/** Thrown when an admin call names an activity that does not exist. */
export class ActivityNotFoundError extends errors.define({
  kind: 'NOT_FOUND',
  reason: 'ACTIVITY_NOT_FOUND',
  message: 'no such activity',
  metadata: (field: string = 'id') => ({ field }),
}) {}

/** Thrown when SaveSubActivity names a unit that does not exist (or not in that activity). */
export class SubActivityNotFoundError extends errors.define({
  kind: 'NOT_FOUND',
  reason: 'SUB_ACTIVITY_NOT_FOUND',
  message: 'no such sub-activity in this activity',
  metadata: { field: 'sub_activity.id' },
}) {}

/** Thrown when SaveActivity would give an activity a label another activity holds. */
export class LabelTakenError extends errors.define({
  kind: 'ALREADY_EXISTS',
  reason: 'LABEL_TAKEN',
  message: 'another activity already has this label',
  metadata: { field: 'activity.label' },
}) {}
