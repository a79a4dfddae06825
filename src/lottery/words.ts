/**
 * The lottery's enums beside their domain values and seed 003's words, for rpc.ts (proto <->
 * domain) and the bridge (legacy words <-> proto). See platform/words.ts.
 */
import { ActiveType, Outcome, Phase, PrizeType, Template } from '../gen/huodong/lottery/v1/lottery.js';
import { enumWords } from '../platform/words.js';
import type { PrizeKind } from './model.js';
import type { Phase as DomainPhase } from './rules.js';
import type { Outcome as DomainOutcome } from './service.js';

/** Seed 003's prize `type`. */
export const PRIZE_KINDS = enumWords<PrizeType, PrizeKind>([
  [PrizeType.PRIZE_TYPE_PHYSICAL, 'physical'], [PrizeType.PRIZE_TYPE_RED, 'red'], [PrizeType.PRIZE_TYPE_COUPON, 'coupon'],
]);

/** A draw's outcome; the award route answers the same words. */
export const OUTCOMES = enumWords<Outcome, DomainOutcome>([
  [Outcome.OUTCOME_WIN, 'win'], [Outcome.OUTCOME_NO_AWARD, 'no_award'], [Outcome.OUTCOME_STOCK_GONE, 'stock_gone'],
  [Outcome.OUTCOME_NO_TIMES, 'no_times'], [Outcome.OUTCOME_HAVE_AWARD, 'have_award'], [Outcome.OUTCOME_NOT_STARTED, 'not_started'],
  [Outcome.OUTCOME_GAME_OVER, 'game_over'], [Outcome.OUTCOME_CLOSED, 'closed'], [Outcome.OUTCOME_CHANCES_OVER_100, 'chances_over_100'],
  [Outcome.OUTCOME_NEED_USER_INFO, 'need_user_info'],
]);

/** Where an activity stands; between two sessions is not started (the next one has not). */
export const PHASES = enumWords<Phase, DomainPhase>([
  [Phase.PHASE_NOT_STARTED, 'not_started'], [Phase.PHASE_ONGOING, 'ongoing'], [Phase.PHASE_ENDED, 'ended'], [Phase.PHASE_NOT_STARTED, 'between'],
]);

/** Seed 003's active_type: 1 normal, 2 reward (anything else is normal). */
export const ACTIVE_TYPES = enumWords<ActiveType, number>([[ActiveType.ACTIVE_TYPE_NORMAL, 1], [ActiveType.ACTIVE_TYPE_REWARD, 2]]);

/** Seed 003's template numbers. */
export const TEMPLATES = enumWords<Template, number>([[Template.TEMPLATE_SCRATCH_CARD, 10], [Template.TEMPLATE_WHEEL, 11], [Template.TEMPLATE_RED_PACKET, 12]]);
