import { expect } from 'chai';
import {
  cycleKey,
  localDate,
  monthDayReset,
  periodKey,
  requireId,
  requirePoints,
  requireText,
  taskRewardExpiry,
  TEXT_COLUMN_BYTES,
  zonedInstant,
} from '../../../src/points/rules.js';
import type { CycleRule } from '../../../src/points/model.js';
import { FakeClock } from '../../support/clock.js';
import { fieldOf } from '../../support/errors.js';

const TZ = 'Asia/Shanghai';
/** An instant given as Shanghai wall time. */
const sh = (wall: string): Date => new Date(`${wall}+08:00`);

describe('points rules: calendar in Asia/Shanghai', () => {
  it('puts 23:59:59 and 00:00:00 on different days (UTC 16:00 is Shanghai midnight)', () => {
    const clock = new FakeClock('2026-11-21T15:59:59Z');
    expect(localDate(clock.now(), TZ)).to.deep.equal({ year: 2026, month: 11, day: 21 });
    clock.advance(1000);
    expect(localDate(clock.now(), TZ)).to.deep.equal({ year: 2026, month: 11, day: 22 });
    expect(zonedInstant({ year: 2026, month: 11, day: 22 }, TZ).toISOString()).to.equal('2026-11-21T16:00:00.000Z');
    expect(zonedInstant({ year: 2026, month: 3, day: 8 }, 'America/New_York', 12).toISOString()).to.equal('2026-03-08T16:00:00.000Z');
  });

  it('day cycle turns at midnight', () => {
    const day: CycleRule = { kind: 'day', day: 0 };
    const clock = new FakeClock(sh('2026-11-21T23:59:59'));
    expect(cycleKey(day, clock.now(), TZ)).to.equal('2026-11-21');
    clock.advance(1000);
    expect(cycleKey(day, clock.now(), TZ)).to.equal('2026-11-22');
  });

  it('week cycle turns on Monday 00:00', () => {
    const week: CycleRule = { kind: 'week', day: 0 };
    expect(cycleKey(week, sh('2026-11-22T23:59:59'), TZ)).to.equal('2026-11-16'); // Sunday
    expect(cycleKey(week, sh('2026-11-23T00:00:00'), TZ)).to.equal('2026-11-23'); // Monday
    expect(cycleKey(week, sh('2026-11-16T00:00:00'), TZ)).to.equal('2026-11-16');
  });

  it('month cycle turns on the 1st, across years', () => {
    const month: CycleRule = { kind: 'month', day: 0 };
    expect(cycleKey(month, sh('2026-12-31T23:59:59'), TZ)).to.equal('2026-12-01');
    expect(cycleKey(month, sh('2027-01-01T00:00:00'), TZ)).to.equal('2027-01-01');
  });

  it('weekday X turns on that weekday (3 = Wednesday)', () => {
    const wed: CycleRule = { kind: 'weekday', day: 3 };
    expect(cycleKey(wed, sh('2026-11-17T23:59:59'), TZ)).to.equal('2026-11-11'); // Tuesday
    expect(cycleKey(wed, sh('2026-11-18T00:00:00'), TZ)).to.equal('2026-11-18'); // Wednesday
    expect(cycleKey(wed, sh('2026-11-22T12:00:00'), TZ)).to.equal('2026-11-18'); // Sunday
    const sun: CycleRule = { kind: 'weekday', day: 7 };
    expect(cycleKey(sun, sh('2026-11-21T23:59:59'), TZ)).to.equal('2026-11-15');
    expect(cycleKey(sun, sh('2026-11-22T00:00:00'), TZ)).to.equal('2026-11-22');
  });

  it('month-day 31 in a 30-day month turns on the 1st of the next month', () => {
    const d31: CycleRule = { kind: 'monthDay', day: 31 };
    expect(monthDayReset(2026, 4, 31)).to.deep.equal({ year: 2026, month: 5, day: 1 });
    expect(cycleKey(d31, sh('2026-04-30T23:59:59'), TZ)).to.equal('2026-03-31');
    expect(cycleKey(d31, sh('2026-05-01T00:00:00'), TZ)).to.equal('2026-05-01');
    expect(cycleKey(d31, sh('2026-05-30T23:59:59'), TZ)).to.equal('2026-05-01');
    expect(cycleKey(d31, sh('2026-05-31T00:00:00'), TZ)).to.equal('2026-05-31');
    expect(cycleKey(d31, sh('2026-12-31T00:00:00'), TZ)).to.equal('2026-12-31');
    expect(cycleKey(d31, sh('2027-01-15T00:00:00'), TZ)).to.equal('2026-12-31');
  });

  it('month-day 29..31 in February turn on 1 March; 29 in a leap year on the 29th', () => {
    for (const day of [29, 30, 31]) {
      const rule: CycleRule = { kind: 'monthDay', day };
      expect(cycleKey(rule, sh('2026-02-28T23:59:59'), TZ), `day ${day}`).to.equal(`2026-01-${day}`);
      expect(cycleKey(rule, sh('2026-03-01T00:00:00'), TZ), `day ${day}`).to.equal('2026-03-01');
    }
    const d29: CycleRule = { kind: 'monthDay', day: 29 };
    expect(cycleKey(d29, sh('2028-02-28T23:59:59'), TZ)).to.equal('2028-01-29');
    expect(cycleKey(d29, sh('2028-02-29T00:00:00'), TZ)).to.equal('2028-02-29');
    expect(cycleKey(d29, sh('2028-03-01T00:00:00'), TZ)).to.equal('2028-02-29');
    expect(cycleKey(d29, sh('2028-03-29T00:00:00'), TZ)).to.equal('2028-03-29');
  });

  it('month-day 15 turns on the 15th', () => {
    const d15: CycleRule = { kind: 'monthDay', day: 15 };
    expect(cycleKey(d15, sh('2026-11-14T23:59:59'), TZ)).to.equal('2026-10-15');
    expect(cycleKey(d15, sh('2026-11-15T00:00:00'), TZ)).to.equal('2026-11-15');
    expect(cycleKey(d15, sh('2026-01-10T00:00:00'), TZ)).to.equal('2025-12-15');
  });

  it('permanent tasks have one cycle forever', () => {
    expect(cycleKey(undefined, sh('2026-01-01T00:00:00'), TZ)).to.equal('permanent');
    expect(cycleKey(undefined, sh('2030-06-01T00:00:00'), TZ)).to.equal('permanent');
  });

  it('exchange limit periods: day, week (Monday), month, once', () => {
    expect(periodKey('day', sh('2026-11-21T23:59:59'), TZ)).to.equal('d:2026-11-21');
    expect(periodKey('day', sh('2026-11-22T00:00:00'), TZ)).to.equal('d:2026-11-22');
    expect(periodKey('week', sh('2026-11-22T23:59:59'), TZ)).to.equal('w:2026-11-16');
    expect(periodKey('week', sh('2026-11-23T00:00:00'), TZ)).to.equal('w:2026-11-23');
    expect(periodKey('month', sh('2026-11-30T23:59:59'), TZ)).to.equal('m:2026-11');
    expect(periodKey('month', sh('2026-12-01T00:00:00'), TZ)).to.equal('m:2026-12');
    expect(periodKey('once', sh('2026-12-01T00:00:00'), TZ)).to.equal('once');
  });

  it('task rewards expire one year after the grant, 29 February on 1 March', () => {
    expect(taskRewardExpiry(sh('2026-03-10T10:20:30'), TZ).toISOString()).to.equal(sh('2027-03-10T10:20:30').toISOString());
    expect(taskRewardExpiry(sh('2028-02-29T08:00:00'), TZ).toISOString()).to.equal(sh('2029-03-01T08:00:00').toISOString());
    // 00:30 in Shanghai is the previous UTC day; the anniversary is still by Shanghai date
    expect(taskRewardExpiry(sh('2026-01-01T00:30:00'), TZ).toISOString()).to.equal(sh('2027-01-01T00:30:00').toISOString());
  });
});

describe('points rules: validation', () => {
  it('points must be positive integers up to 10^12, naming the field', () => {
    expect(requirePoints('1', 'face_value')).to.equal(1n);
    expect(requirePoints('1000000000000', 'face_value')).to.equal(1_000_000_000_000n);
    for (const bad of ['0', '-1', '1.5', 'abc', '', '1000000000001', '9223372036854775808', ' 5', undefined]) {
      expect(fieldOf(() => requirePoints(bad, 'face_value')), String(bad)).to.equal('face_value');
    }
  });

  it('text can be capped in UTF-8 bytes as well as characters (a MySQL TEXT column holds 65,535 bytes)', () => {
    const fits = `${'😀'.repeat(16_383)}abc`; // 65,535 bytes
    expect(requireText(fits, 'rule_detail', 20_000, TEXT_COLUMN_BYTES)).to.equal(fits);
    expect(requireText('a'.repeat(20_000), 'rule_detail', 20_000, TEXT_COLUMN_BYTES)).to.have.lengthOf(20_000);
    for (const bad of ['😀'.repeat(16_400), `${fits}d`, 'a'.repeat(20_001), '  ']) {
      expect(fieldOf(() => requireText(bad, 'rule_detail', 20_000, TEXT_COLUMN_BYTES)), bad.slice(0, 4)).to.equal('rule_detail');
    }
  });

  it('ids are 1..64 safe characters', () => {
    expect(requireId('prize-1', 'prize_id')).to.equal('prize-1');
    for (const bad of ['', 'a b', 'x'.repeat(65), 'é', undefined]) expect(fieldOf(() => requireId(bad, 'prize_id'))).to.equal('prize_id');
  });
});
