/**
 * c-points and experience are exact to 0.01: integers of hundredths inside, decimal strings
 * outside. Parsing is strict (no exponent, no sign unless allowed, at most two decimals), so
 * no floating-point value ever becomes money.
 */
import { errors } from './errors.js';

/** 1e12 c-points, in hundredths: the largest amount one call may move. */
export const MAX_AMOUNT = 100_000_000_000_000;
/** The largest balance or total stored (1e13), far below 2^53 so sums stay exact. */
export const MAX_BALANCE = 1_000_000_000_000_000;

const DECIMAL = /^(\d{1,16})(?:\.(\d{1,2}))?$/;

/** Parses "12.5" into 1250; throws InvalidArgumentError naming the field. */
export function parseHundredths(raw: string | undefined, field: string, options: { allowZero?: boolean; max?: number } = {}): number {
  const text = raw?.trim() ?? '';
  if (text === '') throw errors.invalid(field, 'is required');
  const match = DECIMAL.exec(text);
  if (match === null) throw errors.invalid(field, 'must be a decimal number with at most 2 decimals, e.g. "12.50"');
  const whole = match[1] ?? '0';
  const cents = (match[2] ?? '').padEnd(2, '0');
  const max = options.max ?? MAX_AMOUNT;
  if (whole.replace(/^0+/, '').length > String(Math.floor(max / 100)).length) {
    throw errors.invalid(field, `must be at most ${formatHundredths(max)}`);
  }
  const value = Number(whole) * 100 + Number(cents);
  if (value > max) throw errors.invalid(field, `must be at most ${formatHundredths(max)}`);
  if (value === 0 && options.allowZero !== true) throw errors.invalid(field, 'must be positive');
  return value;
}

/** Like parseHundredths but "-1" (or empty) means unlimited, answered as -1. */
export function parseCap(raw: string | undefined, field: string): number {
  const text = raw?.trim() ?? '';
  if (text === '' || text === '-1') return -1;
  return parseHundredths(text, field, { allowZero: true });
}

/** 1250 -> "12.50"; negative values keep their sign. */
export function formatHundredths(value: number | string | bigint): string {
  const n = BigInt(value);
  const sign = n < 0n ? '-' : '';
  const abs = n < 0n ? -n : n;
  return `${sign}${(abs / 100n).toString()}.${(abs % 100n).toString().padStart(2, '0')}`;
}

/** Converts a stored integer (a string from MySQL BIGINT, a number from SQLite) to a number. */
export function toInt(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' || typeof value === 'bigint') return Number(value);
  return 0;
}
