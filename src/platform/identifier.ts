/**
 * The one rule for the identifiers callers name people by (uids, openids, open ids): required,
 * at most `max` characters, no control characters, and no white space at either end. Such
 * white space is refused, never trimmed: MySQL's PAD SPACE collations find 'abc' for 'abc ',
 * and a trimmed 'victim ' would be let in as 'victim', so a caller's key must be used as sent.
 */
import { InvalidArgumentError } from './errors.js';

export interface IdentifierRule {
  /** Characters at most (default 128, the widest identifier column). */
  readonly max?: number;
  /** Printable ASCII only (the member area's legacy uids). */
  readonly ascii?: boolean;
}

const CONTROL = /[\u0000-\u001f\u007f]/;
const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;

export function requireIdentifier(raw: string | undefined, field: string, area: string, rule: IdentifierRule = {}): string {
  const max = rule.max ?? 128;
  if (raw === undefined || raw.trim() === '') throw new InvalidArgumentError(field, 'is required', area);
  if (raw.trim() !== raw) throw new InvalidArgumentError(field, 'must not start or end with white space', area);
  if (rule.ascii === true) {
    if (raw.length > max || !PRINTABLE_ASCII.test(raw)) throw new InvalidArgumentError(field, `must be 1..${max} printable ASCII characters`, area);
    return raw;
  }
  if ([...raw].length > max) throw new InvalidArgumentError(field, `must be at most ${max} characters`, area);
  if (CONTROL.test(raw)) throw new InvalidArgumentError(field, 'must not contain control characters', area);
  return raw;
}
