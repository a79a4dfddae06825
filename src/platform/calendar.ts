/**
 * Calendar arithmetic in a time zone, the one home for it: the wall-clock time of an instant,
 * the instant of a wall-clock time, dates, day numbers and the legacy "yyyy-MM-dd HH:mm(:ss)"
 * text. Pure: every instant is passed in (from the injected Clock), nothing reads the time.
 * Areas build their cycles (member task cycles, points cycles and limit periods, lottery
 * sessions) on these.
 */

/** A calendar date in some zone; month 1..12. */
export interface LocalDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

export interface WallTime extends LocalDate {
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The wall-clock time of an instant (a Date or epoch ms) in the zone. */
export function wallTime(at: Date | number, timeZone: string): WallTime {
  const parts: Record<string, number> = {};
  for (const p of formatterFor(timeZone).formatToParts(at)) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  return {
    year: parts.year ?? 0,
    month: parts.month ?? 0,
    day: parts.day ?? 0,
    hour: parts.hour ?? 0,
    minute: parts.minute ?? 0,
    second: parts.second ?? 0,
  };
}

/** The calendar date of an instant in the zone. */
export function localDate(at: Date | number, timeZone: string): LocalDate {
  const { year, month, day } = wallTime(at, timeZone);
  return { year, month, day };
}

/** The instant of a wall-clock time in the zone (zones with DST: the first such instant). */
export function zonedInstant(date: LocalDate, timeZone: string, hour = 0, minute = 0, second = 0): Date {
  const asUtc = Date.UTC(date.year, date.month - 1, date.day, hour, minute, second);
  let guess = asUtc;
  for (let i = 0; i < 3; i += 1) {
    const w = wallTime(guess, timeZone);
    const seen = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
    const diff = asUtc - seen;
    if (diff === 0) break;
    guess += diff;
  }
  return new Date(guess);
}

/** Days since 1970-01-01 of the calendar date of `at` in the zone. */
export function localDayNumber(at: Date | number, timeZone: string): number {
  const { year, month, day } = wallTime(at, timeZone);
  return Math.floor(Date.UTC(year, month - 1, day) / 86_400_000);
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** 1 = Monday .. 7 = Sunday. */
export function weekday(date: LocalDate): number {
  const d = new Date(Date.UTC(date.year, date.month - 1, date.day)).getUTCDay();
  return d === 0 ? 7 : d;
}

export function addDays(date: LocalDate, days: number): LocalDate {
  const d = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

export function compareDates(a: LocalDate, b: LocalDate): number {
  return a.year - b.year || a.month - b.month || a.day - b.day;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** "yyyy-MM-dd". */
export function formatDate(date: LocalDate): string {
  return `${pad(date.year, 4)}-${pad(date.month)}-${pad(date.day)}`;
}

/** "yyyy-MM-dd HH:mm" (or with ":ss") of an instant in the zone, as the legacy systems wrote times. */
export function formatLocal(at: Date | number, timeZone: string, precision: 'minute' | 'second' = 'minute'): string {
  const w = wallTime(at, timeZone);
  const minute = `${formatDate(w)} ${pad(w.hour)}:${pad(w.minute)}`;
  return precision === 'minute' ? minute : `${minute}:${pad(w.second)}`;
}

/**
 * "yyyy-MM-dd HH:mm" (a "T" or seconds allowed, seconds ignored) in the zone -> epoch ms;
 * undefined when malformed or not a real date.
 */
export function parseLocalMinute(text: unknown, timeZone: string): number | undefined {
  if (typeof text !== 'string') return undefined;
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(text.trim());
  if (m === null) return undefined;
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59) return undefined;
  return zonedInstant({ year, month, day }, timeZone, hour, minute).getTime();
}
