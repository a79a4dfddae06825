import { legacyCodes } from '@huodong/clients/reasons';
import { areaErrors } from '../platform/errors.js';

/** Every member error whose reason the seed gives a code carries it (see DomainError). */
export const errors = areaErrors('member');

/** Legacy codes of seed 001 (the list is @huodong/clients/reasons). */
export const LEGACY = legacyCodes.member;

/** Thrown when a debit would take the balance below zero; nothing is written. */
export class InsufficientCpointError extends errors.define({ kind: 'FAILED_PRECONDITION', reason: 'INSUFFICIENT_CPOINT', message: 'the c-point balance is too low' }) {}

/** Thrown by CheckConsume / RevokeConsume for an order id never seen for this user. */
export class OrderNotFoundError extends errors.define({ kind: 'NOT_FOUND', reason: 'ORDER_NOT_FOUND', message: 'no such order for this user' }) {}

/** Thrown by RevokeConsume when the order exists but was never paid. */
export class OrderNotPaidError extends errors.define({ kind: 'FAILED_PRECONDITION', reason: 'ORDER_NOT_PAID', message: 'the order was not paid' }) {}

/** Thrown by RevokeConsume for an order already revoked, or an amount above the paid one. */
export class OrderNotRevocableError extends errors.define({
  kind: 'FAILED_PRECONDITION',
  reason: 'ORDER_NOT_REVOCABLE',
  message: (why: string) => `the order cannot be revoked: ${why}`,
}) {}

/** Thrown before any RPC an operator has closed with SetApiSwitch. */
export class ApiClosedError extends errors.define({
  kind: 'FAILED_PRECONDITION',
  reason: 'API_CLOSED',
  message: (method: string) => `${method} is temporarily closed`,
  metadata: (method: string) => ({ method }),
}) {}

/** Thrown when a credit would take a balance past the largest one stored. */
export class BalanceLimitError extends errors.define({ kind: 'RESOURCE_EXHAUSTED', reason: 'BALANCE_LIMIT', message: 'the balance would exceed its upper limit' }) {}

/** Thrown by GetLegacyApp for an unknown legacy signing app. */
export class LegacyAppNotFoundError extends errors.define({ kind: 'NOT_FOUND', reason: 'LEGACY_APP_NOT_FOUND', message: 'no such legacy app' }) {}

/**
 * Thrown when a concurrent writer changed a task counter between read and write (only when
 * the per-user lock was lost); the caller may retry.
 */
export class TaskConflictError extends errors.define({ kind: 'ABORTED', reason: 'TASK_CONFLICT', message: 'the task progress changed concurrently, retry' }) {}
