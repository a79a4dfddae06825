/**
 * The lottery's MySQL stored routines: each one's parameters, declared once in the order of its file
 * under ./sql/ (checked when the routine is first used). Callers pass arguments by these names.
 */
import { defineRoutine } from '../platform/routines.js';

export const DRAW = defineRoutine('lottery_draw', new URL('./sql/lottery_draw.sql', import.meta.url), [
  'p_aid',
  'p_pid',
  'p_openid',
  'p_session',
  'p_request_id',
  'p_owner',
  'p_now',
  'p_max_session_plays',
  'p_max_total_plays',
  'p_max_wins',
  'p_slot',
  'p_prize_version',
  'p_prize_id',
  'p_pool_key',
  'p_known_exhausted',
  'p_prize_name',
  'p_prize_type',
  'p_claimed',
  'p_secret',
  'p_money',
  'p_claim_kind',
  'p_claim_sum',
  'p_claim_money',
  'p_cents',
  'p_no_times',
  'p_have_award',
  'p_result',
]);

export const routines = [DRAW] as const;
