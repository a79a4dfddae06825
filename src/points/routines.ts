/**
 * The points centre's MySQL stored routines: each one's parameters, declared once in the order of its file
 * under ./sql/ (checked when the routine is first used). Callers pass arguments by these names.
 */
import { defineRoutine } from '../platform/routines.js';

/** The parameters both routines open with: the change record and its request. */
const CHANGE_PARAMS = [
  'p_owner',
  'p_open_id',
  'p_amount',
  'p_now',
  'p_source',
  'p_change_id',
  'p_description',
  'p_prize_type',
  'p_task_title',
  'p_request_id',
  'p_request_hash',
  'p_dedupe_key',
] as const;

export const CREDIT = defineRoutine('points_credit', new URL('./sql/points_credit.sql', import.meta.url), [...CHANGE_PARAMS, 'p_expires_at']);

export const DEBIT = defineRoutine('points_debit', new URL('./sql/points_debit.sql', import.meta.url), [
  ...CHANGE_PARAMS,
  'p_prize_id',
  'p_period_key',
  'p_title',
  'p_icon',
  'p_type',
  'p_address',
  'p_user_name',
  'p_tel',
]);

export const routines = [CREDIT, DEBIT] as const;
