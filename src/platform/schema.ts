/**
 * The shapes of migration the areas repeat: tables created together (and dropped in reverse),
 * keys changed (and changed back), key owners added, text made exact on MySQL.
 *
 * Released migrations are built from these, and a released migration must keep exactly the
 * effect it had, on both stores, on the way up and down. So what a helper does for the
 * arguments it already takes is frozen: a new need is a new option, which leaves every call
 * without it as it was. `test/support/schema-steps.ts` prints every schema the migrations
 * make, step by step up and down, on either store: compare its output before and after
 * touching this file.
 */
import type { Knex } from 'knex';
import { isMysql, type Migration } from './db.js';
import { LEGACY_OWNER, OWNER_WIDTH } from './owner.js';

/** A table's columns and keys, as knex's createTable callback declares them (`knex` for isMysql). */
export type TableDefinition = (t: Knex.CreateTableBuilder, knex: Knex) => void;

/**
 * A migration creating `tables` in the order given (names in insertion order, never numeric);
 * its down drops them in the reverse order.
 */
export function createTablesMigration(name: string, tables: Readonly<Record<string, TableDefinition>>): Migration {
  const names = Object.keys(tables);
  return {
    name,
    async up(knex) {
      for (const table of names) await knex.schema.createTable(table, (t) => tables[table]?.(t, knex));
    },
    async down(knex) {
      for (const table of [...names].reverse()) await knex.schema.dropTable(table);
    },
  };
}

/** A key: the primary key, a unique key or a plain index, under knex's name unless `name` is given. */
export type Key =
  | { readonly kind: 'primary'; readonly columns: readonly string[] }
  | { readonly kind: 'unique' | 'index'; readonly columns: readonly string[]; readonly name?: string };

export const primaryKey = (columns: readonly string[]): Key => ({ kind: 'primary', columns });
export const uniqueKey = (columns: readonly string[], name?: string): Key => ({ kind: 'unique', columns, ...(name === undefined ? {} : { name }) });
export const plainIndex = (columns: readonly string[], name?: string): Key => ({ kind: 'index', columns, ...(name === undefined ? {} : { name }) });

function addKey(t: Knex.CreateTableBuilder, key: Key): void {
  if (key.kind === 'primary') t.primary(key.columns);
  else if (key.kind === 'unique') t.unique(key.columns, { indexName: key.name });
  else t.index(key.columns, key.name);
}

function dropKey(t: Knex.CreateTableBuilder, key: Key): void {
  if (key.kind === 'primary') t.dropPrimary();
  else if (key.kind === 'unique') t.dropUnique(key.columns, key.name);
  else t.dropIndex(key.columns, key.name);
}

/** One table's keys changed: `drop` dropped, then `add` added, in one ALTER TABLE. */
export interface KeyChange {
  readonly table: string;
  readonly drop?: readonly Key[];
  readonly add?: readonly Key[];
}

/** Makes each change, table after table. */
export async function changeKeys(knex: Knex, changes: readonly KeyChange[]): Promise<void> {
  for (const { table, drop = [], add = [] } of changes) {
    await knex.schema.alterTable(table, (t) => {
      for (const key of drop) dropKey(t, key);
      for (const key of add) addKey(t, key);
    });
  }
}

/** Undoes changeKeys: the tables in reverse order, each dropping what was added (last first), then adding back what was dropped. */
export async function revertKeys(knex: Knex, changes: readonly KeyChange[]): Promise<void> {
  for (const { table, drop = [], add = [] } of [...changes].reverse()) {
    await knex.schema.alterTable(table, (t) => {
      for (const key of [...add].reverse()) dropKey(t, key);
      for (const key of [...drop].reverse()) addKey(t, key);
    });
  }
}

/** A migration that only changes keys (an index for a new walk, say); down changes them back. */
export function keysMigration(name: string, changes: readonly KeyChange[]): Migration {
  return { name, up: (knex) => changeKeys(knex, changes), down: (knex) => revertKeys(knex, changes) };
}

/**
 * A migration giving idempotency keys an owner (platform/owner.ts): each changed table gets an
 * `owner` column, LEGACY_OWNER for the rows already there, then its keys change (to keys that
 * include the owner). Down first calls `discard`, since keys two owners share cannot go back
 * to one unique key, then changes the keys back and drops the columns.
 */
export function keyOwnersMigration(name: string, changes: readonly KeyChange[], discard: (knex: Knex) => Promise<void>): Migration {
  const tables = [...new Set(changes.map((c) => c.table))];
  return {
    name,
    async up(knex) {
      for (const table of tables) {
        await knex.schema.alterTable(table, (t) => {
          t.string('owner', OWNER_WIDTH).notNullable().defaultTo(LEGACY_OWNER);
        });
      }
      await changeKeys(knex, changes);
    },
    async down(knex) {
      await discard(knex);
      await revertKeys(knex, changes);
      for (const table of tables) {
        await knex.schema.alterTable(table, (t) => {
          t.dropColumn('owner');
        });
      }
    },
  };
}

/** A `discard` for keyOwnersMigration: deletes the rows of every owner but LEGACY_OWNER. */
export const keepLegacyRows =
  (tables: readonly string[]) =>
  async (knex: Knex): Promise<void> => {
    for (const table of tables) await knex(table).whereNot('owner', LEGACY_OWNER).delete();
  };

/**
 * A migration that makes MySQL compare an area's text exactly, as SQLite does. The usual MySQL
 * defaults (MariaDB's utf8mb4_general_ci, MySQL 8's utf8mb4_0900_ai_ci) ignore case, and the
 * latter accents too: uids "Bob" and "bob", order ids "A1" and "a1", would be one row there and
 * two on SQLite, sharing a balance or answering a new order as a replay of an old one. The
 * tables are converted to `collation` (utf8mb4_bin unless given); stored procedures'
 * parameters keep the database default, and where they meet a column MySQL compares by the
 * column's binary collation. Trailing spaces still compare equal under utf8mb4_bin (PAD SPACE),
 * so identifiers are refused with them, or the tables take exactNoPadCollation.
 */
export function exactTextMigration(
  name: string,
  tables: readonly string[],
  collation: (knex: Knex) => Promise<string> = () => Promise.resolve('utf8mb4_bin'),
): Migration {
  return {
    name,
    async up(knex) {
      if (!isMysql(knex)) return;
      const exact = await collation(knex);
      for (const table of tables) await knex.raw(`ALTER TABLE ?? CONVERT TO CHARACTER SET utf8mb4 COLLATE ${exact}`, [table]);
    },
    async down(knex) {
      if (!isMysql(knex)) return;
      for (const table of tables) await knex.raw('ALTER TABLE ?? CONVERT TO CHARACTER SET utf8mb4', [table]);
    },
  };
}

/**
 * The exact collation that is also NO PAD, so that keys differing only by trailing spaces
 * ("victim" / "victim ") are different, as on SQLite: MariaDB has utf8mb4_nopad_bin, MySQL 8
 * utf8mb4_0900_bin; a server with neither keeps utf8mb4_bin.
 */
export async function exactNoPadCollation(knex: Knex): Promise<string> {
  const [rows] = (await knex.raw(
    "SELECT COLLATION_NAME AS name FROM information_schema.COLLATIONS WHERE COLLATION_NAME IN ('utf8mb4_nopad_bin', 'utf8mb4_0900_bin')",
  )) as [Array<{ name: string }>];
  const names = new Set(rows.map((r) => r.name));
  return ['utf8mb4_nopad_bin', 'utf8mb4_0900_bin'].find((n) => names.has(n)) ?? 'utf8mb4_bin';
}
