/**
 * The points centre's domain types: the words of its enumerations and the objects the store
 * answers, the service works with and the RPC layer maps to proto. Column names and database
 * number types stay in store.ts.
 */

/** Where a change of points came from (the seed's changeSource words). */
export type Source = 'task' | 'exchange' | 'other' | 'sign' | 'invite' | 'expiredTask';
export type PrizeKind = 'integral' | 'goods' | 'virtualGoods';
/** How often a user may exchange a prize: once per day, week, month, or once ever. */
export type LimitKind = 'day' | 'week' | 'month' | 'once';
export type CycleKind = 'day' | 'week' | 'month' | 'weekday' | 'monthDay';
export type TaskKind = 'permanentTask' | 'cyclicTask';
export type ButtonKind = 'route' | 'qrCode' | 'customize';
export type TaskModel = 'standard' | 'progress';
/** Seed values: 0 to claim, 1 in progress, 2 done. */
export type TaskStatusValue = 0 | 1 | 2;
export type PrizeStatusValue = 'exchangeable' | 'exchanged' | 'soldOut';
/** Why a request was refused, stored as its request id's final answer (points_refusals). */
export type RefusalReason = 'insufficient' | 'sold_out' | 'limit_reached' | 'unavailable';

export interface CycleRule {
  readonly kind: CycleKind;
  /** Weekday 1..7 for `weekday`, month day 1..31 for `monthDay`. */
  readonly day: number;
}

/** A change record: one credit or debit of a user's points. */
export interface PointsChange {
  readonly id: string;
  /** The owner of requestId (platform/owner.ts). */
  readonly owner: string;
  readonly openId: string;
  readonly direction: 'credit' | 'debit';
  readonly source: Source;
  readonly faceValue: bigint;
  readonly balanceAfter: bigint;
  readonly description: string;
  readonly changeId: string;
  readonly prizeType: PrizeKind;
  readonly taskTitle: string;
  readonly createdAt: number;
  /** A credit's expiry; undefined for never, and for debits. */
  readonly expiresAt: number | undefined;
  readonly requestId: string | undefined;
  readonly requestHash: string | undefined;
}

/** An exchange of points for a prize, with its shipping details. */
export interface PointsExchange {
  readonly id: string;
  readonly owner: string;
  readonly openId: string;
  readonly prizeId: string;
  readonly requestId: string;
  readonly requestHash: string;
  /** The debit's change record. */
  readonly recordId: string;
  /** The exchange limit's period it counts against. */
  readonly periodKey: string;
  readonly title: string;
  readonly icon: string;
  readonly faceValue: bigint;
  readonly type: PrizeKind;
  readonly address: string;
  readonly userName: string;
  readonly tel: string;
  readonly createdAt: number;
}

export interface PointsPrize {
  readonly prizeId: string;
  readonly faceValue: bigint;
  readonly title: string;
  readonly description: string;
  readonly icon: string;
  readonly total: bigint;
  readonly stock: bigint;
  readonly type: PrizeKind;
  readonly exchangeLimit: LimitKind;
  readonly disabled: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface PointsTask {
  readonly taskId: string;
  readonly type: TaskKind;
  /** When a cyclic task's progress starts over; undefined for permanent tasks. */
  readonly cycle: CycleRule | undefined;
  /** The cycle's title (kept as saved for permanent tasks too, though never shown there). */
  readonly cycleTitle: string;
  readonly title: string;
  readonly description: string;
  readonly button: { readonly title: string; readonly type: ButtonKind; readonly path: string; readonly imageUrl: string };
  readonly faceValue: bigint;
  readonly total: bigint;
  readonly model: TaskModel;
  readonly createdAt: number;
  readonly updatedAt: number;
}
