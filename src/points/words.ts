/**
 * The points centre's enums beside their domain values and seed 002's words, for rpc.ts (proto
 * <-> domain) and bridge.ts (legacy words <-> proto). See platform/words.ts.
 */
import {
  ButtonType,
  ChangeDirection,
  ChangeRecordType,
  CycleType,
  ExchangeLimit,
  PointsSource,
  PrizeStatus,
  PrizeType,
  TaskModel,
  TaskStatus,
  TaskType,
} from '../gen/huodong/points/v1/points.js';
import { enumWords } from '../platform/words.js';
import type { CycleKind, LimitKind, PrizeKind, PrizeStatusValue, Source, TaskStatusValue } from './model.js';

/** Where a change came from. The seed's changeSource says `inviting` for an invitation. */
export const SOURCES = enumWords<PointsSource, Source>([
  [PointsSource.POINTS_SOURCE_TASK, 'task'], [PointsSource.POINTS_SOURCE_EXCHANGE, 'exchange'], [PointsSource.POINTS_SOURCE_OTHER, 'other'],
  [PointsSource.POINTS_SOURCE_SIGN, 'sign'], [PointsSource.POINTS_SOURCE_INVITE, 'invite', 'inviting'],
  [PointsSource.POINTS_SOURCE_EXPIRED_TASK, 'expiredTask'],
]);

/** Seed table 2's changeStatus: 1 add, 2 reduce (the store's direction column too). */
export const DIRECTIONS = enumWords<ChangeDirection, 'credit' | 'debit'>([[ChangeDirection.CHANGE_DIRECTION_CREDIT, 'credit', '1'], [ChangeDirection.CHANGE_DIRECTION_DEBIT, 'debit', '2']]);

/** changeRecord's `type`: which records to list. */
export const RECORD_TYPES = enumWords<ChangeRecordType, 'task' | 'exchange'>([[ChangeRecordType.CHANGE_RECORD_TYPE_TASK, 'task'], [ChangeRecordType.CHANGE_RECORD_TYPE_EXCHANGE, 'exchange']]);

export const PRIZE_TYPES = enumWords<PrizeType, PrizeKind>([
  [PrizeType.PRIZE_TYPE_INTEGRAL, 'integral'], [PrizeType.PRIZE_TYPE_GOODS, 'goods'], [PrizeType.PRIZE_TYPE_VIRTUAL_GOODS, 'virtualGoods'],
]);

/** How often a prize may be exchanged. */
export const LIMITS = enumWords<ExchangeLimit, LimitKind>([
  [ExchangeLimit.EXCHANGE_LIMIT_DAY, 'day'], [ExchangeLimit.EXCHANGE_LIMIT_WEEK, 'week'], [ExchangeLimit.EXCHANGE_LIMIT_MONTH, 'month'],
  [ExchangeLimit.EXCHANGE_LIMIT_ONCE, 'once'],
]);

export const TASK_TYPES = enumWords<TaskType, 'permanentTask' | 'cyclicTask'>([[TaskType.TASK_TYPE_PERMANENT, 'permanentTask'], [TaskType.TASK_TYPE_CYCLIC, 'cyclicTask']]);

/** The seed names cycle types in Chinese, and answers so; the English words are taken as well. */
export const CYCLES = enumWords<CycleType, CycleKind>([
  [CycleType.CYCLE_TYPE_DAY, 'day', '每天'], [CycleType.CYCLE_TYPE_WEEK, 'week', '每周'], [CycleType.CYCLE_TYPE_MONTH, 'month', '每月'],
  [CycleType.CYCLE_TYPE_WEEKDAY, 'weekday', '每周X'], [CycleType.CYCLE_TYPE_MONTH_DAY, 'monthDay', '每月X'],
]);

export const MODELS = enumWords<TaskModel, 'standard' | 'progress'>([[TaskModel.TASK_MODEL_STANDARD, 'standard'], [TaskModel.TASK_MODEL_PROGRESS, 'progress']]);

/** A task's button. */
export const BUTTONS = enumWords<ButtonType, 'route' | 'qrCode' | 'customize'>([
  [ButtonType.BUTTON_TYPE_ROUTE, 'route'], [ButtonType.BUTTON_TYPE_QR_CODE, 'qrCode'], [ButtonType.BUTTON_TYPE_CUSTOMIZE, 'customize'],
]);

/** Seed table 6 is canonical: 0 to claim, 1 in progress, 2 done (its API text says 1/2/3). */
export const TASK_STATUSES = enumWords<TaskStatus, TaskStatusValue>([
  [TaskStatus.TASK_STATUS_TO_CLAIM, 0], [TaskStatus.TASK_STATUS_IN_PROGRESS, 1], [TaskStatus.TASK_STATUS_DONE, 2],
]);

/** A prize for a user. The seed's status: 0 exchangeable, 1 not (already exchanged in the period, or sold out). */
export const PRIZE_STATUSES = enumWords<PrizeStatus, PrizeStatusValue>([
  [PrizeStatus.PRIZE_STATUS_EXCHANGEABLE, 'exchangeable', '0'], [PrizeStatus.PRIZE_STATUS_EXCHANGED, 'exchanged', '1'],
  [PrizeStatus.PRIZE_STATUS_SOLD_OUT, 'soldOut', '1'],
]);
