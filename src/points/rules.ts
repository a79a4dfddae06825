/**
 * Pure rules of the points centre: calendar arithmetic in the configured zone (cycles,
 * exchange-limit periods, expiry) and input validation. No I/O; time is always passed in.
 */
import { requireIdentifier } from '../platform/identifier.js';
import { createHash } from 'node:crypto';
import { addDays, compareDates as compare, daysInMonth, formatDate, localDate, wallTime, weekday, zonedInstant, type LocalDate } from '../platform/calendar.js';
import { errors } from './errors.js';
import type { CycleRule, LimitKind } from './model.js';

export type { LocalDate } from '../platform/calendar.js';
export { addDays, daysInMonth, formatDate, localDate, weekday, zonedInstant } from '../platform/calendar.js';


/** The day a month-day cycle starts over in a month: that day, or the 1st of the next month. */
export function monthDayReset(year: number, month: number, day: number): LocalDate {
  if (day <= daysInMonth(year, month)) return { year, month, day };
  return month === 12 ? { year: year + 1, month: 1, day: 1 } : { year, month: month + 1, day: 1 };
}

/** The first day of the cycle containing `today`. */
export function cycleStart(rule: CycleRule, today: LocalDate): LocalDate {
  switch (rule.kind) {
    case 'day':
      return today;
    case 'week':
      return addDays(today, 1 - weekday(today));
    case 'month':
      return { year: today.year, month: today.month, day: 1 };
    case 'weekday':
      return addDays(today, -((weekday(today) - rule.day + 7) % 7));
    case 'monthDay': {
      const here = monthDayReset(today.year, today.month, rule.day);
      if (compare(here, today) <= 0) return here;
      const prev = today.month === 1 ? { y: today.year - 1, m: 12 } : { y: today.year, m: today.month - 1 };
      const before = monthDayReset(prev.y, prev.m, rule.day);
      if (compare(before, today) <= 0) return before;
      // Only reachable when the previous month's reset fell into this month and is still ahead,
      // which monthDayReset cannot produce; kept total for safety.
      const prev2 = prev.m === 1 ? { y: prev.y - 1, m: 12 } : { y: prev.y, m: prev.m - 1 };
      return monthDayReset(prev2.y, prev2.m, rule.day);
    }
  }
}

/** The key of the cycle containing `at`; progress stored under another key is stale. */
export function cycleKey(rule: CycleRule | undefined, at: Date, timeZone: string): string {
  if (rule === undefined) return 'permanent';
  return formatDate(cycleStart(rule, localDate(at, timeZone)));
}

/** The limit period an exchange at `at` counts against; one exchange per period. */
export function periodKey(limit: LimitKind, at: Date, timeZone: string): string {
  const today = localDate(at, timeZone);
  switch (limit) {
    case 'day':
      return `d:${formatDate(today)}`;
    case 'week':
      return `w:${formatDate(cycleStart({ kind: 'week', day: 0 }, today))}`;
    case 'month':
      return `m:${formatDate(today).slice(0, 7)}`;
    case 'once':
      return 'once';
  }
}

/**
 * Task rewards expire one year after the grant, at the same wall-clock time in the zone; a
 * grant on 29 February expires on 1 March.
 */
export function taskRewardExpiry(grantedAt: Date, timeZone: string): Date {
  const w = wallTime(grantedAt, timeZone);
  const year = w.year + 1;
  const date = w.day <= daysInMonth(year, w.month) ? { year, month: w.month, day: w.day } : { year, month: w.month + 1, day: 1 };
  return zonedInstant(date, timeZone, w.hour, w.minute, w.second);
}

/** Expiry of a credit valid `days` days (0: never) starting at the grant. */
export function expiryAfterDays(grantedAt: Date, days: number): Date | undefined {
  return days === 0 ? undefined : new Date(grantedAt.getTime() + days * 86_400_000);
}

// ---- validation -------------------------------------------------------------------------

/** Upper bound for any single amount: far below int64, so sums of many stay exact. */
export const MAX_POINTS = 1_000_000_000_000n;
export const MAX_STOCK = 1_000_000_000n;

export function requirePoints(raw: string | undefined, field: string, max = MAX_POINTS): bigint {
  if (raw === undefined || raw === '' || !/^-?\d{1,20}$/.test(raw)) throw errors.invalid(field, 'must be an integer');
  const value = BigInt(raw);
  if (value <= 0n) throw errors.invalid(field, 'must be positive');
  if (value > max) throw errors.invalid(field, `must be at most ${max}`);
  return value;
}

/**
 * What a MySQL TEXT column holds, in bytes. A character cap alone does not keep text within it
 * (20,000 emoji are 80,000 bytes), and SQLite would store the text that MySQL refuses.
 */
export const TEXT_COLUMN_BYTES = 65_535;

export function requireText(raw: string | undefined, field: string, max: number, maxBytes = Number.POSITIVE_INFINITY): string {
  const value = (raw ?? '').trim();
  if (value === '') throw errors.invalid(field, 'is required');
  if ([...value].length > max) throw errors.invalid(field, `must be at most ${max} characters`);
  if (Buffer.byteLength(value, 'utf8') > maxBytes) throw errors.invalid(field, `must be at most ${maxBytes} bytes of UTF-8`);
  return value;
}

export function optionalText(raw: string | undefined, field: string, max: number): string {
  const value = (raw ?? '').trim();
  if ([...value].length > max) throw errors.invalid(field, `must be at most ${max} characters`);
  return value;
}

const ID = /^[A-Za-z0-9_.:-]{1,64}$/;

export function requireId(raw: string | undefined, field: string): string {
  const value = raw ?? '';
  if (value === '') throw errors.invalid(field, 'is required');
  if (!ID.test(value)) throw errors.invalid(field, 'must be 1..64 of A-Z a-z 0-9 _ . : -');
  return value;
}

export function requireOpenId(raw: string | undefined): string {
  return requireIdentifier(raw, 'open_id', { errors });
}

export function requireRequestId(raw: string | undefined): string {
  return requireText(raw, 'request_id', 64);
}

/** A stable fingerprint of a request's parameters, to tell a replay from a reused key. */
export function fingerprint(parts: ReadonlyArray<string | number | bigint | undefined>): string {
  const text = JSON.stringify(parts.map((p) => (p === undefined ? null : String(p))));
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
