/**
 * The task rules of seed 001 as pure functions: step lists, cycles in the configured zone,
 * grades, and the verdict of one SubmitTask. No I/O and no clock reads; callers pass time in.
 */
import { localDayNumber } from '../platform/calendar.js';
import { errors } from './errors.js';
import { formatHundredths, parseHundredths } from './money.js';
import type { Grade, Step, Task } from './model.js';

const MAX_STEPS = 100;
const MAX_STEP_FROM = 1_000_000_000;

/** Parses "1:2,20:40.5" (completion number : value), strictly; empty means no steps. */
export function parseSteps(raw: string | undefined, field: string): Step[] {
  const text = raw?.trim() ?? '';
  if (text === '') return [];
  const parts = text.split(',');
  if (parts.length > MAX_STEPS) throw errors.invalid(field, `at most ${MAX_STEPS} steps`);
  const steps: Step[] = [];
  for (const part of parts) {
    const match = /^\s*(\d{1,10})\s*:\s*([^,\s]+)\s*$/.exec(part);
    if (match === null) throw errors.invalid(field, 'must look like "1:2,20:40.5"');
    const from = Number(match[1]);
    if (from < 1 || from > MAX_STEP_FROM) throw errors.invalid(field, 'step numbers must be positive');
    const previous = steps[steps.length - 1];
    if (previous !== undefined && from <= previous.from) {
      throw errors.invalid(field, 'step numbers must be strictly increasing');
    }
    steps.push({ from, value: parseHundredths(match[2], field, { allowZero: true }) });
  }
  return steps;
}

/** The canonical text of a step list, e.g. "1:2.00,20:40.50". */
export function formatSteps(steps: readonly Step[]): string {
  return steps.map((s) => `${s.from}:${formatHundredths(s.value)}`).join(',');
}

/** What the n-th completion (1-based) is worth: the last step reached, else the base value. */
export function valueOfCompletion(steps: readonly Step[], n: number, base: number): number {
  let value = base;
  for (const step of steps) {
    if (step.from > n) break;
    value = step.value;
  }
  return value;
}

export { localDayNumber } from '../platform/calendar.js';

/**
 * The cycle a moment falls in: r_ratio days (r_flag 1) or r_ratio Monday-based weeks
 * (r_flag 2), counted from 1970-01-01 in the zone so every cycle starts at local midnight.
 * Without a cycle (r_flag 0) everything is cycle 0.
 */
export function cycleOf(ms: number, rFlag: number, rRatio: number, timeZone: string): number {
  if (rFlag !== 1 && rFlag !== 2) return 0;
  const ratio = Math.max(1, rRatio);
  const day = localDayNumber(ms, timeZone);
  // 1970-01-01 was a Thursday, so day + 3 counts from the Monday before it.
  const unit = rFlag === 1 ? day : Math.floor((day + 3) / 7);
  return Math.floor(unit / ratio);
}

/** The highest grade whose threshold `score` reaches; 0 below every threshold. */
export function gradeFor(score: number, grades: readonly Grade[]): number {
  let best = 0;
  for (const g of grades) if (score >= g.score && g.grade > best) best = g.grade;
  return best;
}

/** Checks a grade table: distinct grades, thresholds never decreasing as grades rise. */
export function validateGrades(grades: readonly Grade[]): Grade[] {
  if (grades.length > 1000) throw errors.invalid('grades', 'at most 1000 grades');
  const sorted = [...grades].sort((a, b) => a.grade - b.grade);
  for (let i = 0; i < sorted.length; i += 1) {
    const g = sorted[i] as Grade;
    if (!Number.isInteger(g.grade) || g.grade < 1 || g.grade > 1000) {
      throw errors.invalid('grades.grade', 'must be 1..1000');
    }
    const prev = sorted[i - 1];
    if (prev !== undefined && prev.grade === g.grade) throw errors.invalid('grades.grade', `grade ${g.grade} appears twice`);
    if (prev !== undefined && prev.score > g.score) {
      throw errors.invalid('grades.score', 'thresholds must not decrease as grades rise');
    }
  }
  return sorted;
}

/** What the store knows about this user and task, read under the user's lock. */
export interface TaskState {
  readonly grade: number;
  /** Completions over all time. */
  readonly totalCount: number;
  /** Completions, c-points and experience of the current cycle. */
  readonly cycleCount: number;
  readonly cycleCpoint: number;
  readonly cycleScore: number;
  /** True when r_filter is on and this target already counted in this cycle. */
  readonly targetSeen: boolean;
}

export type Verdict =
  | { readonly code: 0; readonly completions: number; readonly cpoint: number; readonly score: number }
  | { readonly code: 1; readonly rule: string };

/** Applies every rule of seed 001 to one submission of `times` completions at `nowSec`. */
export function judgeTask(task: Task, state: TaskState, times: number, nowSec: number): Verdict {
  const no = (rule: string): Verdict => ({ code: 1, rule });
  if (task.status !== 0) return no('status');
  if (task.sTime > 0 && nowSec < task.sTime) return no('s_time');
  if (task.eTime > 0 && nowSec > task.eTime) return no('e_time');
  if (task.sGrade >= 0 && state.grade < task.sGrade) return no('s_grade');
  if (task.eGrade >= 0 && state.grade > task.eGrade) return no('e_grade');
  if (times > 1 && task.batch !== 1) return no('batch');
  if (task.repeat === 0 && state.totalCount >= 1) return no('repeat');
  if (task.rFilter === 1 && state.targetSeen) return no('r_filter');

  let allowed = times;
  if (task.repeat === 0) allowed = 1;
  if (task.rFilter === 1) allowed = 1;
  if (task.rCount >= 0) {
    const left = task.rCount - state.cycleCount;
    if (left <= 0) return no('r_count');
    allowed = Math.min(allowed, left);
  }

  const counted = task.rStep === 1 ? state.cycleCount : state.totalCount;
  let cpoint = 0;
  let score = 0;
  for (let k = 1; k <= allowed; k += 1) {
    cpoint += valueOfCompletion(task.stepCpoint, counted + k, task.cpoint);
    score += valueOfCompletion(task.stepScore, counted + k, task.score);
  }
  const cappedCpoint = task.rCpoint >= 0 ? Math.min(cpoint, Math.max(0, task.rCpoint - state.cycleCpoint)) : cpoint;
  const cappedScore = task.rScore >= 0 ? Math.min(score, Math.max(0, task.rScore - state.cycleScore)) : score;
  // Award up to the caps; once every reward the task gives is capped out, the rule fails.
  if (cpoint + score > 0 && cappedCpoint + cappedScore === 0) return no(cpoint > 0 ? 'r_cpoint' : 'r_score');
  return { code: 0, completions: allowed, cpoint: cappedCpoint, score: cappedScore };
}
