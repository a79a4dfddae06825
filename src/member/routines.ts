/**
 * The member area's MySQL stored routines: each one's parameters, declared once in the order of its file
 * under ./sql/ (checked when the routine is first used). Callers pass arguments by these names.
 */
import { defineRoutine } from '../platform/routines.js';

export const PAY_ORDER = defineRoutine('member_pay_order', new URL('./sql/member_pay_order.sql', import.meta.url), [
  'p_owner',
  'p_order_id',
  'p_uid',
  'p_amount',
  'p_source',
  'p_operator',
  'p_note',
  'p_now',
]);

export const routines = [PAY_ORDER] as const;
