import { expect } from 'chai';
import {
  addDays,
  formatLocal,
  localDate,
  localDayNumber,
  parseLocalMinute,
  wallTime,
  weekday,
  zonedInstant,
} from '../../../src/platform/calendar.js';

const SH = 'Asia/Shanghai';

describe('platform calendar (the one home of zone arithmetic)', () => {
  it('reads the wall-clock time and date of an instant in the zone', () => {
    const at = Date.UTC(2026, 11, 31, 16, 30, 5); // 2027-01-01 00:30:05 in Shanghai
    expect(wallTime(at, SH)).to.deep.equal({ year: 2027, month: 1, day: 1, hour: 0, minute: 30, second: 5 });
    expect(localDate(new Date(at), 'UTC')).to.deep.equal({ year: 2026, month: 12, day: 31 });
    expect(localDayNumber(at, SH) - localDayNumber(at - 31 * 60_000, SH)).to.equal(1);
  });

  it('finds the instant of a wall-clock time, also across a DST change', () => {
    expect(zonedInstant({ year: 2027, month: 1, day: 1 }, SH).getTime()).to.equal(Date.UTC(2026, 11, 31, 16));
    // New York: 2026-03-08 03:00 local is 07:00 UTC (EDT), 01:00 is 06:00 UTC (EST).
    expect(zonedInstant({ year: 2026, month: 3, day: 8 }, 'America/New_York', 3).getTime()).to.equal(Date.UTC(2026, 2, 8, 7));
    expect(zonedInstant({ year: 2026, month: 3, day: 8 }, 'America/New_York', 1).getTime()).to.equal(Date.UTC(2026, 2, 8, 6));
  });

  it('formats and parses the legacy "yyyy-MM-dd HH:mm(:ss)" text, refusing dates that do not exist', () => {
    const at = Date.UTC(2017, 5, 20, 16, 0, 9);
    expect(formatLocal(at, SH)).to.equal('2017-06-21 00:00');
    expect(formatLocal(at, SH, 'second')).to.equal('2017-06-21 00:00:09');
    expect(parseLocalMinute('2017-06-21 00:00', SH)).to.equal(Date.UTC(2017, 5, 20, 16));
    expect(parseLocalMinute('2017-06-21T00:00:59', SH)).to.equal(Date.UTC(2017, 5, 20, 16));
    for (const bad of ['2017-02-30 00:00', '2017-13-01 00:00', '2017-06-21 24:00', '2017-06-21', 42]) {
      expect(parseLocalMinute(bad, SH), String(bad)).to.equal(undefined);
    }
  });

  it('counts weekdays from Monday and adds days over month and year ends', () => {
    expect(weekday({ year: 2026, month: 12, day: 7 })).to.equal(1);
    expect(weekday({ year: 2026, month: 12, day: 13 })).to.equal(7);
    expect(addDays({ year: 2026, month: 12, day: 31 }, 1)).to.deep.equal({ year: 2027, month: 1, day: 1 });
    expect(addDays({ year: 2024, month: 3, day: 1 }, -1)).to.deep.equal({ year: 2024, month: 2, day: 29 });
  });
});
