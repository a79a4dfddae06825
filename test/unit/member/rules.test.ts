import { expect } from 'chai';
import { formatHundredths, parseCap, parseHundredths } from '../../../src/member/money.js';
import {
  cycleOf,
  formatSteps,
  gradeFor,
  judgeTask,
  localDayNumber,
  parseSteps,
  validateGrades,
  valueOfCompletion,
  type TaskState,
} from '../../../src/member/rules.js';
import type { Task } from '../../../src/member/model.js';
import { FakeClock } from '../../support/clock.js';
import { fieldOf } from '../../support/errors.js';

const TZ = 'Asia/Shanghai';

const baseTask: Task = {
  id: 1,
  op: 'share',
  name: 'share',
  desc: '',
  score: 100,
  cpoint: 100,
  stepScore: [],
  stepCpoint: [],
  status: 0,
  sTime: 0,
  eTime: 0,
  sGrade: -1,
  eGrade: -1,
  batch: 1,
  repeat: 1,
  rFlag: 0,
  rRatio: 0,
  rCount: -1,
  rCpoint: -1,
  rScore: -1,
  rFilter: 0,
  rStep: 0,
  uTime: 0,
};
const fresh: TaskState = { grade: 0, totalCount: 0, cycleCount: 0, cycleCpoint: 0, cycleScore: 0, targetSeen: false };
const NOW = 1_800_000_000;

describe('member money', () => {
  it('parses decimal strings into exact hundredths', () => {
    expect(parseHundredths('12.5', 'cpoint')).to.equal(1250);
    expect(parseHundredths('12.50', 'cpoint')).to.equal(1250);
    expect(parseHundredths('0.01', 'cpoint')).to.equal(1);
    expect(parseHundredths('1000000000000', 'cpoint')).to.equal(100_000_000_000_000);
    expect(parseHundredths('0', 'x', { allowZero: true })).to.equal(0);
  });

  it('refuses zero, negative, three decimals, words, exponents and amounts above 1e12, naming the field', () => {
    for (const bad of ['0', '0.00', '-1', '1.001', 'abc', '', '1e3', '1000000000000.01', '99999999999999999', ' .5', '1.', 'NaN', undefined]) {
      expect(fieldOf(() => parseHundredths(bad, 'cpoint')), String(bad)).to.equal('cpoint');
    }
  });

  it('formats hundredths back to two decimals', () => {
    expect(formatHundredths(0)).to.equal('0.00');
    expect(formatHundredths(1)).to.equal('0.01');
    expect(formatHundredths(-1250)).to.equal('-12.50');
    expect(formatHundredths('100000000000000')).to.equal('1000000000000.00');
  });

  it('reads caps with -1 or empty as unlimited', () => {
    expect(parseCap('-1', 'r_cpoint')).to.equal(-1);
    expect(parseCap('', 'r_cpoint')).to.equal(-1);
    expect(parseCap('3.5', 'r_cpoint')).to.equal(350);
    expect(fieldOf(() => parseCap('-2', 'r_cpoint'))).to.equal('r_cpoint');
  });
});

describe('member task rules', () => {
  describe('steps', () => {
    it('parses "1:2,20:40.5" and values completions by the last step reached', () => {
      const steps = parseSteps('1:2,20:40.5', 'step_score');
      expect(steps).to.deep.equal([
        { from: 1, value: 200 },
        { from: 20, value: 4050 },
      ]);
      expect(formatSteps(steps)).to.equal('1:2.00,20:40.50');
      expect(valueOfCompletion(steps, 1, 999)).to.equal(200);
      expect(valueOfCompletion(steps, 19, 999)).to.equal(200);
      expect(valueOfCompletion(steps, 20, 999)).to.equal(4050);
      expect(valueOfCompletion(steps, 500, 999)).to.equal(4050);
      expect(valueOfCompletion(parseSteps('5:1', 's'), 4, 999), 'before the first step: the base value').to.equal(999);
      expect(parseSteps('', 's')).to.deep.equal([]);
    });

    it('refuses malformed, unordered, zero-numbered or over-precise steps', () => {
      for (const bad of ['1', '1:', ':2', '0:1', '2:1,1:3', '1:1,1:2', '1:2.001', '1:-2', 'a:b', '1:2;3:4']) {
        expect(fieldOf(() => parseSteps(bad, 'step_cpoint')), bad).to.equal('step_cpoint');
      }
    });
  });

  describe('cycles in Asia/Shanghai', () => {
    it('turns the day at local midnight (16:00 UTC), not at UTC midnight', () => {
      const clock = new FakeClock('2026-03-10T15:59:59Z'); // 23:59:59 in Shanghai
      const before = cycleOf(clock.now().getTime(), 1, 1, TZ);
      clock.advance(1000); // 00:00:00 on the 11th in Shanghai
      expect(cycleOf(clock.now().getTime(), 1, 1, TZ)).to.equal(before + 1);
      clock.set('2026-03-10T23:59:59Z'); // still the 11th in Shanghai
      expect(cycleOf(clock.now().getTime(), 1, 1, TZ)).to.equal(before + 1);
      expect(localDayNumber(Date.parse('2026-03-10T16:00:00Z'), TZ) - localDayNumber(Date.parse('2026-03-10T15:59:59Z'), TZ)).to.equal(1);
    });

    it('groups days two by two when r_ratio is 2, each cycle starting at local midnight', () => {
      // 2026-03-11 (local) is day 20523 since 1970-01-01, an odd day: it ends a 2-day cycle.
      expect(Date.UTC(2026, 2, 11) / 86_400_000).to.equal(20523);
      const clock = new FakeClock('2026-03-10T16:00:00Z'); // 2026-03-11 00:00 in Shanghai
      const cycles: number[] = [];
      for (let d = 0; d < 5; d += 1) {
        cycles.push(cycleOf(clock.now().getTime(), 1, 2, TZ));
        clock.advance(86_400_000);
      }
      const c = cycles[0] as number;
      expect(cycles).to.deep.equal([c, c + 1, c + 1, c + 2, c + 2]);
      // The second day of a cycle runs to 23:59:59 local; one second later is the next cycle.
      const endOfCycle = Date.parse('2026-03-11T16:00:00Z'); // 2026-03-12 00:00 local, day 20524: a new cycle
      expect(cycleOf(endOfCycle, 1, 2, TZ)).to.equal(c + 1);
      expect(cycleOf(Date.parse('2026-03-13T15:59:59Z'), 1, 2, TZ)).to.equal(c + 1);
      expect(cycleOf(Date.parse('2026-03-13T16:00:00Z'), 1, 2, TZ)).to.equal(c + 2);
    });

    it('starts weeks on Monday 00:00 local time', () => {
      // 2026-03-15 is a Sunday; Monday 2026-03-16 00:00 Shanghai is 2026-03-15T16:00Z.
      const sundayNight = Date.parse('2026-03-15T15:59:59Z');
      const mondayMorning = Date.parse('2026-03-15T16:00:00Z');
      const lastMonday = Date.parse('2026-03-08T16:00:00Z');
      expect(cycleOf(mondayMorning, 2, 1, TZ)).to.equal(cycleOf(sundayNight, 2, 1, TZ) + 1);
      expect(cycleOf(lastMonday, 2, 1, TZ)).to.equal(cycleOf(sundayNight, 2, 1, TZ));
      expect(cycleOf(Date.parse('2026-03-08T15:59:59Z'), 2, 1, TZ)).to.equal(cycleOf(sundayNight, 2, 1, TZ) - 1);
    });

    it('crosses a year boundary without a jump', () => {
      const lastDay = Date.parse('2026-12-31T12:00:00Z');
      expect(cycleOf(lastDay + 86_400_000, 1, 1, TZ)).to.equal(cycleOf(lastDay, 1, 1, TZ) + 1);
    });

    it('has a single cycle without r_flag', () => {
      expect(cycleOf(Date.parse('2020-01-01T00:00:00Z'), 0, 3, TZ)).to.equal(0);
      expect(cycleOf(Date.parse('2030-01-01T00:00:00Z'), 0, 3, TZ)).to.equal(0);
    });
  });

  describe('grades', () => {
    const grades = [
      { grade: 1, score: 0 },
      { grade: 2, score: 10_000 },
      { grade: 3, score: 50_000 },
    ];
    it('picks the highest grade whose threshold the experience reaches', () => {
      expect(gradeFor(0, grades)).to.equal(1);
      expect(gradeFor(9_999, grades)).to.equal(1);
      expect(gradeFor(10_000, grades)).to.equal(2);
      expect(gradeFor(1_000_000, grades)).to.equal(3);
      expect(gradeFor(5, [])).to.equal(0);
    });
    it('refuses duplicate grades and thresholds that fall as grades rise', () => {
      expect(fieldOf(() => validateGrades([{ grade: 1, score: 0 }, { grade: 1, score: 5 }]))).to.equal('grades.grade');
      expect(fieldOf(() => validateGrades([{ grade: 1, score: 50 }, { grade: 2, score: 5 }]))).to.equal('grades.score');
      expect(fieldOf(() => validateGrades([{ grade: 0, score: 0 }]))).to.equal('grades.grade');
    });
  });

  describe('judgeTask', () => {
    it('awards base values per completion', () => {
      expect(judgeTask(baseTask, fresh, 3, NOW)).to.deep.equal({ code: 0, completions: 3, cpoint: 300, score: 300 });
    });

    it('refuses a closed task, outside its window or grade window', () => {
      expect(judgeTask({ ...baseTask, status: 1 }, fresh, 1, NOW)).to.deep.equal({ code: 1, rule: 'status' });
      expect(judgeTask({ ...baseTask, sTime: NOW + 1 }, fresh, 1, NOW)).to.deep.equal({ code: 1, rule: 's_time' });
      expect(judgeTask({ ...baseTask, eTime: NOW - 1 }, fresh, 1, NOW)).to.deep.equal({ code: 1, rule: 'e_time' });
      expect(judgeTask({ ...baseTask, sTime: NOW, eTime: NOW }, fresh, 1, NOW).code).to.equal(0);
      expect(judgeTask({ ...baseTask, sGrade: 2 }, { ...fresh, grade: 1 }, 1, NOW)).to.deep.equal({ code: 1, rule: 's_grade' });
      expect(judgeTask({ ...baseTask, eGrade: 2 }, { ...fresh, grade: 3 }, 1, NOW)).to.deep.equal({ code: 1, rule: 'e_grade' });
      expect(judgeTask({ ...baseTask, sGrade: 2, eGrade: 3 }, { ...fresh, grade: 3 }, 1, NOW).code).to.equal(0);
    });

    it('allows times > 1 only for batch tasks', () => {
      expect(judgeTask({ ...baseTask, batch: 0 }, fresh, 2, NOW)).to.deep.equal({ code: 1, rule: 'batch' });
      expect(judgeTask({ ...baseTask, batch: 0 }, fresh, 1, NOW).code).to.equal(0);
    });

    it('allows a repeat-0 task once ever', () => {
      expect(judgeTask({ ...baseTask, repeat: 0 }, fresh, 1, NOW).code).to.equal(0);
      expect(judgeTask({ ...baseTask, repeat: 0 }, { ...fresh, totalCount: 1 }, 1, NOW)).to.deep.equal({ code: 1, rule: 'repeat' });
    });

    it('counts r_count per cycle and awards only the completions left', () => {
      const task = { ...baseTask, rFlag: 1, rRatio: 1, rCount: 3 };
      expect(judgeTask(task, { ...fresh, cycleCount: 1 }, 5, NOW)).to.deep.equal({ code: 0, completions: 2, cpoint: 200, score: 200 });
      expect(judgeTask(task, { ...fresh, cycleCount: 3, totalCount: 10 }, 1, NOW)).to.deep.equal({ code: 1, rule: 'r_count' });
    });

    it('caps c-points and experience per cycle mid-award, then fails with code 1', () => {
      const task = { ...baseTask, rFlag: 1, rRatio: 1, rCpoint: 250, rScore: -1 };
      expect(judgeTask(task, { ...fresh, cycleCpoint: 100 }, 2, NOW)).to.deep.equal({ code: 0, completions: 2, cpoint: 150, score: 200 });
      expect(judgeTask({ ...task, score: 0 }, { ...fresh, cycleCpoint: 250 }, 1, NOW)).to.deep.equal({ code: 1, rule: 'r_cpoint' });
      const scoreCapped = { ...baseTask, cpoint: 0, rScore: 150 };
      expect(judgeTask(scoreCapped, { ...fresh, cycleScore: 100 }, 1, NOW)).to.deep.equal({ code: 0, completions: 1, cpoint: 0, score: 50 });
      expect(judgeTask(scoreCapped, { ...fresh, cycleScore: 150 }, 1, NOW)).to.deep.equal({ code: 1, rule: 'r_score' });
    });

    it('counts a filtered target once per cycle', () => {
      const task = { ...baseTask, rFilter: 1 };
      expect(judgeTask(task, { ...fresh, targetSeen: true }, 1, NOW)).to.deep.equal({ code: 1, rule: 'r_filter' });
      expect(judgeTask(task, fresh, 3, NOW)).to.deep.equal({ code: 0, completions: 1, cpoint: 100, score: 100 });
    });

    it('switches step value at the 20th completion, counted per cycle with r_step and over all time without', () => {
      const steps = parseSteps('1:2,20:40.5', 's');
      const task = { ...baseTask, rFlag: 1, rRatio: 1, stepCpoint: steps, stepScore: steps };
      // 18 done this cycle (and 18 ever): completions 19 and 20 -> 2 + 40.5.
      expect(judgeTask({ ...task, rStep: 1 }, { ...fresh, cycleCount: 18, totalCount: 18 }, 2, NOW)).to.deep.equal({
        code: 0,
        completions: 2,
        cpoint: 4250,
        score: 4250,
      });
      // r_step 1: a new cycle restarts the count, so completion 1 of the cycle is worth 2.
      expect(judgeTask({ ...task, rStep: 1 }, { ...fresh, cycleCount: 0, totalCount: 40 }, 1, NOW)).to.include({ cpoint: 200 });
      // r_step 0: the all-time count (41st) decides.
      expect(judgeTask({ ...task, rStep: 0 }, { ...fresh, cycleCount: 0, totalCount: 40 }, 1, NOW)).to.include({ cpoint: 4050 });
    });
  });
});
