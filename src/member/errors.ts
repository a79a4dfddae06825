import { legacyCodes } from '@huodong/clients/reasons';
import { DomainError } from '../platform/errors.js';

export const AREA = 'member';

/** Legacy codes of seed 001 (the list is @huodong/clients/reasons). */
export const LEGACY = legacyCodes.member;

/** Thrown when a debit would take the balance below zero; nothing is written. */
export class InsufficientCpointError extends DomainError {
  constructor() {
    super('FAILED_PRECONDITION', 'INSUFFICIENT_CPOINT', AREA, 'the c-point balance is too low', {
      legacyCode: LEGACY.INSUFFICIENT_CPOINT,
    });
  }
}

/** Thrown by CheckConsume / RevokeConsume for an order id never seen for this user. */
export class OrderNotFoundError extends DomainError {
  constructor() {
    super('NOT_FOUND', 'ORDER_NOT_FOUND', AREA, 'no such order for this user', { legacyCode: LEGACY.ORDER_NOT_FOUND });
  }
}

/** Thrown by RevokeConsume when the order exists but was never paid. */
export class OrderNotPaidError extends DomainError {
  constructor() {
    super('FAILED_PRECONDITION', 'ORDER_NOT_PAID', AREA, 'the order was not paid', { legacyCode: LEGACY.ORDER_NOT_PAID });
  }
}

/** Thrown by RevokeConsume for an order already revoked, or an amount above the paid one. */
export class OrderNotRevocableError extends DomainError {
  constructor(why: string) {
    super('FAILED_PRECONDITION', 'ORDER_NOT_REVOCABLE', AREA, `the order cannot be revoked: ${why}`, {
      legacyCode: LEGACY.ORDER_NOT_REVOCABLE,
    });
  }
}

/** Thrown before any RPC an operator has closed with SetApiSwitch. */
export class ApiClosedError extends DomainError {
  constructor(method: string) {
    super('FAILED_PRECONDITION', 'API_CLOSED', AREA, `${method} is temporarily closed`, {
      legacyCode: LEGACY.API_CLOSED,
      metadata: { method },
    });
  }
}

/** Thrown when a credit would take a balance past the largest one stored. */
export class BalanceLimitError extends DomainError {
  constructor() {
    super('RESOURCE_EXHAUSTED', 'BALANCE_LIMIT', AREA, 'the balance would exceed its upper limit');
  }
}

/** Thrown by GetLegacyApp for an unknown legacy signing app. */
export class LegacyAppNotFoundError extends DomainError {
  constructor() {
    super('NOT_FOUND', 'LEGACY_APP_NOT_FOUND', AREA, 'no such legacy app');
  }
}

/**
 * Thrown when a concurrent writer changed a task counter between read and write (only when
 * the per-user lock was lost); the caller may retry.
 */
export class TaskConflictError extends DomainError {
  constructor() {
    super('ABORTED', 'TASK_CONFLICT', AREA, 'the task progress changed concurrently, retry');
  }
}
