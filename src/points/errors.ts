import { DomainError } from '../platform/errors.js';

export const AREA = 'points';

/** Thrown when a debit is larger than the user's unexpired points; nothing is written. */
export class InsufficientPointsError extends DomainError {
  constructor(needed: string) {
    super('FAILED_PRECONDITION', 'INSUFFICIENT_POINTS', AREA, `not enough points: ${needed} needed`, {
      metadata: { needed },
    });
  }
}

/** Thrown when a prize id names no prize. */
export class PrizeNotFoundError extends DomainError {
  constructor(prizeId: string) {
    super('NOT_FOUND', 'PRIZE_NOT_FOUND', AREA, `prize ${prizeId} does not exist`, { metadata: { field: 'prize_id' } });
  }
}

/** Thrown when a task id names no task. */
export class TaskNotFoundError extends DomainError {
  constructor(taskId: string) {
    super('NOT_FOUND', 'TASK_NOT_FOUND', AREA, `task ${taskId} does not exist`, { metadata: { field: 'task_id' } });
  }
}

/** Thrown when a disabled prize is exchanged. */
export class PrizeUnavailableError extends DomainError {
  constructor() {
    super('FAILED_PRECONDITION', 'PRIZE_UNAVAILABLE', AREA, 'the prize is not available');
  }
}

/** Thrown when the prize has no stock left. */
export class PrizeSoldOutError extends DomainError {
  constructor() {
    super('FAILED_PRECONDITION', 'PRIZE_SOLD_OUT', AREA, 'the prize is sold out');
  }
}

/** Thrown when the user already exchanged the prize within its limit period. */
export class ExchangeLimitReachedError extends DomainError {
  constructor(periodKey: string) {
    super('FAILED_PRECONDITION', 'EXCHANGE_LIMIT_REACHED', AREA, 'the prize was already exchanged in this period', {
      metadata: { period_key: periodKey },
    });
  }
}

/** Thrown when ReceiveTaskAward finds the task not in status to-claim for the current cycle. */
export class TaskNotClaimableError extends DomainError {
  constructor() {
    super('FAILED_PRECONDITION', 'TASK_NOT_CLAIMABLE', AREA, 'the task has no reward to claim in this cycle');
  }
}

/** Thrown when a prize's total would take its stock below zero (more already exchanged). */
export class StockBelowZeroError extends DomainError {
  constructor() {
    super('FAILED_PRECONDITION', 'STOCK_BELOW_ZERO', AREA, 'total is lower than what was already exchanged', {
      metadata: { field: 'prize.total' },
    });
  }
}

/** Thrown when a concurrent save changed the row between read and write; retry. */
export class ConcurrentUpdateError extends DomainError {
  constructor(what: string) {
    super('ABORTED', 'CONCURRENT_UPDATE', AREA, `${what} changed concurrently, retry`);
  }
}
