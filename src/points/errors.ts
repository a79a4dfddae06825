import { areaErrors } from '../platform/errors.js';

export const errors = areaErrors('points');

/** Thrown when a debit is larger than the user's unexpired points; nothing is written. */
export class InsufficientPointsError extends errors.define({
  kind: 'FAILED_PRECONDITION',
  reason: 'INSUFFICIENT_POINTS',
  message: (needed: string) => `not enough points: ${needed} needed`,
  metadata: (needed: string) => ({ needed }),
}) {}

/** Thrown when a prize id names no prize. */
export class PrizeNotFoundError extends errors.define({
  kind: 'NOT_FOUND',
  reason: 'PRIZE_NOT_FOUND',
  message: (prizeId: string) => `prize ${prizeId} does not exist`,
  metadata: { field: 'prize_id' },
}) {}

/** Thrown when a task id names no task. */
export class TaskNotFoundError extends errors.define({
  kind: 'NOT_FOUND',
  reason: 'TASK_NOT_FOUND',
  message: (taskId: string) => `task ${taskId} does not exist`,
  metadata: { field: 'task_id' },
}) {}

/** Thrown when a disabled prize is exchanged. */
export class PrizeUnavailableError extends errors.define({ kind: 'FAILED_PRECONDITION', reason: 'PRIZE_UNAVAILABLE', message: 'the prize is not available' }) {}

/** Thrown when the prize has no stock left. */
export class PrizeSoldOutError extends errors.define({ kind: 'FAILED_PRECONDITION', reason: 'PRIZE_SOLD_OUT', message: 'the prize is sold out' }) {}

/** Thrown when the user already exchanged the prize within its limit period. */
export class ExchangeLimitReachedError extends errors.define({
  kind: 'FAILED_PRECONDITION',
  reason: 'EXCHANGE_LIMIT_REACHED',
  message: 'the prize was already exchanged in this period',
  metadata: (periodKey: string) => ({ period_key: periodKey }),
}) {}

/** Thrown when ReceiveTaskAward finds the task not in status to-claim for the current cycle. */
export class TaskNotClaimableError extends errors.define({
  kind: 'FAILED_PRECONDITION',
  reason: 'TASK_NOT_CLAIMABLE',
  message: 'the task has no reward to claim in this cycle',
}) {}

/** Thrown when a prize's total would take its stock below zero (more already exchanged). */
export class StockBelowZeroError extends errors.define({
  kind: 'FAILED_PRECONDITION',
  reason: 'STOCK_BELOW_ZERO',
  message: 'total is lower than what was already exchanged',
  metadata: { field: 'prize.total' },
}) {}

/** Thrown when a concurrent save changed the row between read and write; retry. */
export class ConcurrentUpdateError extends errors.define({
  kind: 'ABORTED',
  reason: 'CONCURRENT_UPDATE',
  message: (what: string) => `${what} changed concurrently, retry`,
}) {}
