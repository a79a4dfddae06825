/** All SQL of the user data area. Every write is conditional on the cas it was given. */
import type { Knex } from 'knex';
import { isUniqueViolation } from '../platform/db.js';
import { TABLE } from './migrations.js';

export interface StoredDocument {
  readonly json: string;
  readonly cas: string;
}

interface Row {
  actid: string;
  openid: string;
  data: string;
  cas: string | number;
  updated_at: number;
}

export class UserDataStore {
  constructor(private readonly knex: Knex) {}

  async get(actid: string, openid: string): Promise<StoredDocument | undefined> {
    const row = await this.knex<Row>(TABLE).select('data', 'cas').where({ actid, openid }).first();
    return row === undefined ? undefined : { json: row.data, cas: String(row.cas) };
  }

  /** Inserts a new document with cas 1; false when one already exists. */
  async create(actid: string, openid: string, json: string, now: number): Promise<boolean> {
    try {
      await this.knex(TABLE).insert({ actid, openid, data: json, cas: 1, updated_at: now });
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  /** Replaces the document only if its cas is still `cas`; false when it moved on. */
  async replace(actid: string, openid: string, json: string, cas: string, next: string, now: number): Promise<boolean> {
    const changed = await this.knex(TABLE)
      .where({ actid, openid, cas })
      .update({ data: json, cas: next, updated_at: now });
    return changed === 1;
  }

  /** Writes unconditionally (cas -1) and returns the new cas, in one transaction. */
  async force(actid: string, openid: string, json: string, now: number): Promise<string> {
    return this.knex.transaction(async (trx) => {
      await trx(TABLE)
        .insert({ actid, openid, data: json, cas: 1, updated_at: now })
        .onConflict(['actid', 'openid'])
        .merge({ data: json, cas: trx.raw('?? + 1', [`${TABLE}.cas`]), updated_at: now });
      const row = await trx<Row>(TABLE).select('cas').where({ actid, openid }).first();
      if (row === undefined) throw new Error('forced write vanished inside its transaction');
      return String(row.cas);
    });
  }
}
