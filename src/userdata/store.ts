/** All SQL of the user data area. Every write is conditional on the cas it was given. */
import type { Knex } from 'knex';
import { createBatcher } from '../platform/batch.js';
import { isUniqueViolation, type Database, type Dialect } from '../platform/db.js';
import { TABLE } from './migrations.js';
import type { DocumentKey } from './model.js';

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

const keyOf = (k: DocumentKey): string => `${k.actid}\u0000${k.openid}`;

export class UserDataStore {
  /** Reads arriving together share one query per activity. */
  readonly get: (key: DocumentKey) => Promise<StoredDocument | undefined>;

  private readonly knex: Knex;
  private readonly dialect: Dialect;

  constructor(db: Database) {
    this.knex = db.knex;
    this.dialect = db.dialect;
    this.get = createBatcher((keys) => this.load(keys), { keyOf });
  }

  private async load(keys: readonly DocumentKey[]): Promise<Map<string, StoredDocument>> {
    const byActivity = new Map<string, string[]>();
    for (const k of keys) byActivity.set(k.actid, [...(byActivity.get(k.actid) ?? []), k.openid]);
    const found = new Map<string, StoredDocument>();
    await Promise.all(
      [...byActivity].map(async ([actid, openids]) => {
        const rows = await this.knex<Row>(TABLE)
          .select('actid', 'openid', 'data', 'cas')
          .where('actid', actid)
          .whereIn('openid', openids);
        for (const row of rows) found.set(keyOf({ actid, openid: row.openid }), { json: row.data, cas: String(row.cas) });
      }),
    );
    return found;
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

  /** Writes unconditionally (cas -1) in one statement and returns the new cas. */
  async force(actid: string, openid: string, json: string, now: number): Promise<string> {
    if (this.dialect === 'mysql') {
      // LAST_INSERT_ID(expr) hands the updated cas back with the statement's result; a fresh
      // insert leaves it 0 and gets cas 1.
      const [result] = (await this.knex.raw(
        `INSERT INTO ${TABLE} (actid, openid, data, cas, updated_at) VALUES (?, ?, ?, 1, ?)
         ON DUPLICATE KEY UPDATE data = VALUES(data), cas = LAST_INSERT_ID(cas + 1), updated_at = VALUES(updated_at)`,
        [actid, openid, json, now],
      )) as [{ affectedRows: number; insertId: number | string }];
      return result.affectedRows === 1 ? '1' : String(result.insertId);
    }
    const rows = (await this.knex(TABLE)
      .insert({ actid, openid, data: json, cas: 1, updated_at: now })
      .onConflict(['actid', 'openid'])
      .merge({ data: json, cas: this.knex.raw('?? + 1', [`${TABLE}.cas`]), updated_at: now })
      .returning('cas')) as Array<{ cas: number | string }>;
    const row = rows[0];
    if (row === undefined) throw new Error('upsert returned no row');
    return String(row.cas);
  }
}
