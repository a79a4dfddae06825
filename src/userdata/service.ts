/** The rules of per-activity user data: validation and compare-and-swap. */
import { requireIdentifier } from '../platform/identifier.js';
import type { Clock } from '../platform/clock.js';
import { CasConflictError, errors } from './errors.js';
import type { Document, JsonObject } from './model.js';
import type { UserDataStore } from './store.js';

export const MAX_DATA_BYTES = 64 * 1024;
const MAX_OPENID = 128;
const MAX_INT64 = 9223372036854775807n;

/**
 * The proto field is uint64, but ids stop at 2^63-1: SQLite keeps larger integers only as REAL,
 * where neighbouring activities would share documents, and every store must answer alike.
 */
export function validateActid(actid: string | undefined): string {
  const value = parseInteger(actid, 'actid');
  if (value <= 0n || value > MAX_INT64) {
    throw errors.invalid('actid', `must be a positive integer up to ${MAX_INT64}`);
  }
  return value.toString();
}

/**
 * Surrounding whitespace is refused, not trimmed: MySQL's PAD SPACE collations find 'abc' for
 * 'abc ', so such an openid would read and overwrite another user's document.
 */
export function validateOpenid(openid: string | undefined): string {
  return requireIdentifier(openid, 'openid', { errors, max: MAX_OPENID });
}

export function validateCas(cas: string | undefined): bigint {
  const value = parseInteger(cas ?? '0', 'cas');
  if (value < -1n || value > MAX_INT64) throw errors.invalid('cas', 'must be -1, 0 or a cas returned by a read');
  return value;
}

/**
 * Serializes the document and enforces the 64 KiB cap. Absent data is refused rather than read
 * as `{}`, which would wipe the document; an empty object is a document like any other.
 */
export function serializeData(data: unknown): string {
  if (data === undefined || data === null) throw errors.invalid('data', 'is required');
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw errors.invalid('data', 'must be a JSON object');
  }
  const json = JSON.stringify(data);
  if (Buffer.byteLength(json, 'utf8') > MAX_DATA_BYTES) {
    throw errors.invalid('data', `must be at most ${MAX_DATA_BYTES} bytes as JSON`);
  }
  return json;
}

function parseInteger(raw: string | undefined, field: string): bigint {
  if (raw === undefined || !/^-?\d{1,20}$/.test(raw)) throw errors.invalid(field, 'must be an integer');
  return BigInt(raw);
}

export interface UserDataServiceDeps {
  readonly store: UserDataStore;
  readonly clock: Clock;
}

export class UserDataService {
  constructor(private readonly deps: UserDataServiceDeps) {}

  async get(actidRaw: string | undefined, openidRaw: string | undefined): Promise<Document> {
    const actid = validateActid(actidRaw);
    const openid = validateOpenid(openidRaw);
    const stored = await this.deps.store.get({ actid, openid });
    if (stored === undefined) return { data: {}, cas: '0' };
    return { data: JSON.parse(stored.json) as JsonObject, cas: stored.cas };
  }

  /** Writes the document if `cas` allows it and returns the new cas. */
  async set(actidRaw: string | undefined, openidRaw: string | undefined, data: unknown, casRaw: string | undefined): Promise<string> {
    const actid = validateActid(actidRaw);
    const openid = validateOpenid(openidRaw);
    const cas = validateCas(casRaw);
    const json = serializeData(data);
    const now = Math.floor(this.deps.clock.now().getTime() / 1000);
    if (cas === -1n) return this.deps.store.force(actid, openid, json, now);
    if (cas === 0n) {
      if (!(await this.deps.store.create(actid, openid, json, now))) throw new CasConflictError();
      return '1';
    }
    const next = (cas + 1n).toString();
    if (!(await this.deps.store.replace(actid, openid, json, cas.toString(), next, now))) {
      throw new CasConflictError();
    }
    return next;
  }
}
