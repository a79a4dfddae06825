/**
 * MemberService's enums beside their domain values and seed 001's words, for rpc.ts (proto <->
 * domain) and bridge.ts (legacy words <-> proto). See platform/words.ts.
 */
import { OrderStatus, SortField, SortOrder } from '../gen/huodong/member/v1/member.js';
import { enumWords } from '../platform/words.js';
import type { SortField as DomainSortField } from './service.js';

/** The order table's status column (1, 2, 3) and the names the order list answers. */
export const ORDER_STATUSES = enumWords<OrderStatus, number>([
  [OrderStatus.ORDER_STATUS_UNPAID, 1, 'unpaid'], [OrderStatus.ORDER_STATUS_CONSUMED, 2, 'consumed'],
  [OrderStatus.ORDER_STATUS_REVOKED, 3, 'revoked'],
]);

/** listSortInfo's condition. */
export const SORT_FIELDS = enumWords<SortField, DomainSortField>([
  [SortField.SORT_FIELD_SCORE, 'score'], [SortField.SORT_FIELD_CPOINT, 'cpoint'], [SortField.SORT_FIELD_GRADE, 'grade'],
]);

/** listSortInfo's sort: 1 ascending, -1 descending. */
export const SORT_ORDERS = enumWords<SortOrder, 'asc' | 'desc'>([[SortOrder.SORT_ORDER_ASC, 'asc', '1'], [SortOrder.SORT_ORDER_DESC, 'desc', '-1']]);
