/**
 * The one rule for the identifiers callers name people by (uids, openids, open ids): required,
 * at most `max` characters, no control characters, and no white space at either end. Such
 * white space is refused, never trimmed: MySQL's PAD SPACE collations find 'abc' for 'abc ',
 * and a trimmed 'victim ' would be let in as 'victim', so a caller's key must be used as sent.
 */
import { commonErrors, type AreaErrors, type ErrorArea } from './errors.js';

export interface IdentifierRule {
  /** Characters at most (default 128, the widest identifier column). */
  readonly max?: number;
  /** Printable ASCII only (the member area's legacy uids). */
  readonly ascii?: boolean;
  /** The area a refusal is raised for (default: common). */
  readonly errors?: Pick<AreaErrors<ErrorArea>, 'invalid'>;
}

const CONTROL = /[\u0000-\u001f\u007f]/;
const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;

export function requireIdentifier(raw: string | undefined, field: string, rule: IdentifierRule = {}): string {
  const max = rule.max ?? 128;
  const invalid = rule.errors?.invalid ?? commonErrors.invalid;
  if (raw === undefined || raw.trim() === '') throw invalid(field, 'is required');
  if (raw.trim() !== raw) throw invalid(field, 'must not start or end with white space');
  if (rule.ascii === true) {
    if (raw.length > max || !PRINTABLE_ASCII.test(raw)) throw invalid(field, `must be 1..${max} printable ASCII characters`);
    return raw;
  }
  if ([...raw].length > max) throw invalid(field, `must be at most ${max} characters`);
  if (CONTROL.test(raw)) throw invalid(field, 'must not contain control characters');
  return raw;
}
