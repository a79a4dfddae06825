/**
 * The grant area's MySQL stored routines: each one's parameters, declared once in the order of its file
 * under ./sql/ (checked when the routine is first used). Callers pass arguments by these names.
 */
import { defineRoutine } from '../platform/routines.js';

export const GRANT_UNITS = defineRoutine('grant_units', new URL('./sql/grant_units.sql', import.meta.url), [
  'p_activity_id',
  'p_app_id',
  'p_nonce',
  'p_now',
  'p_expired_before',
  'p_identity',
  'p_claim_id',
  'p_units',
  'p_claim',
]);

export const routines = [GRANT_UNITS] as const;
