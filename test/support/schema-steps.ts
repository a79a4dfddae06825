/**
 * Every schema the migrations make on the way up and back down, one step at a time, as text:
 * for checking that a change to migration code (a refactor of a released migration, a shared
 * helper) leaves each migration's effect, and its undoing, exactly as it was. Run it before and
 * after the change and compare:
 *   MYSQL_URL=mysql://root@127.0.0.1:PORT/ npx tsx test/support/schema-steps.ts mysql > before-mysql.txt
 *   npx tsx test/support/schema-steps.ts sqlite > before-sqlite.txt
 * On MySQL a database of its own is made on that server and dropped afterwards; on SQLite a
 * temporary file. Each step prints the migration it ran and the whole schema after it: MySQL's
 * SHOW CREATE of every table and routine (AUTO_INCREMENT counters and definers dropped),
 * SQLite's sqlite_master; the rows of every table but the migrations' own bookkeeping; and the
 * names of the applied migrations. A migration that fails prints its error and ends the walk.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { allMigrations } from '../../src/app.js';
import { openDatabase, type Database, type Migration } from '../../src/platform/db.js';
import { freshMysqlDatabase } from './app.js';

const MIGRATIONS_TABLE = 'huodong_migrations';

const rowsOf = (result: unknown): Array<Record<string, unknown>> =>
  (Array.isArray(result) && Array.isArray(result[0]) ? result[0] : result) as Array<Record<string, unknown>>;

const text = (value: unknown): string => (value instanceof Buffer ? value.toString('hex') : JSON.stringify(value));

async function tableRows(knex: Knex, table: string): Promise<string[]> {
  const rows = (await knex(table).select('*')) as Array<Record<string, unknown>>;
  return rows.map((row) => Object.entries(row).map(([k, v]) => `${k}=${text(v)}`).join(' ')).sort();
}

async function mysqlSchema(knex: Knex): Promise<string[]> {
  const out: string[] = [];
  const tables = rowsOf(await knex.raw(`SHOW FULL TABLES WHERE Table_type = 'BASE TABLE'`)).map((r) => String(Object.values(r)[0])).sort();
  for (const table of tables) {
    const [created] = rowsOf(await knex.raw('SHOW CREATE TABLE ??', [table]));
    out.push(String(created?.['Create Table']).replace(/ AUTO_INCREMENT=\d+/, ''));
    if (!table.startsWith(MIGRATIONS_TABLE)) out.push(...(await tableRows(knex, table)).map((r) => `  row ${r}`));
  }
  const routines = rowsOf(
    await knex.raw('SELECT ROUTINE_NAME AS name, ROUTINE_TYPE AS type FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE() ORDER BY 1, 2'),
  );
  for (const { name, type } of routines) {
    const kind = type === 'FUNCTION' ? 'Function' : 'Procedure';
    const [created] = rowsOf(await knex.raw(`SHOW CREATE ${String(type)} ??`, [String(name)]));
    out.push(String(created?.[`Create ${kind}`]).replace(/^CREATE DEFINER=\S+ /, 'CREATE '));
  }
  return out;
}

async function sqliteSchema(knex: Knex): Promise<string[]> {
  const out: string[] = [];
  const objects = (await knex('sqlite_master').select('type', 'name', 'tbl_name', 'sql').orderBy(['type', 'name'])) as Array<Record<string, unknown>>;
  for (const { type, name, tbl_name: table, sql } of objects) {
    out.push(`${String(type)} ${String(name)} on ${String(table)}: ${String(sql)}`);
    if (type === 'table' && !String(name).startsWith(MIGRATIONS_TABLE) && !String(name).startsWith('sqlite_')) {
      out.push(...(await tableRows(knex, String(name))).map((r) => `  row ${r}`));
    }
  }
  return out;
}

async function snapshot(db: Database): Promise<string> {
  const schema = db.dialect === 'mysql' ? await mysqlSchema(db.knex) : await sqliteSchema(db.knex);
  const applied = (await db.knex.schema.hasTable(MIGRATIONS_TABLE))
    ? ((await db.knex(MIGRATIONS_TABLE).select('name').orderBy('id')) as Array<{ name: string }>).map((m) => m.name)
    : [];
  return [...schema, `applied: ${applied.join(' ')}`].join('\n');
}

function migrator(db: Database, migrations: readonly Migration[]): { up(): Promise<string[]>; down(): Promise<string[]> } {
  const sorted = [...migrations].sort((a, b) => a.name.localeCompare(b.name));
  const config: Knex.MigratorConfig = {
    tableName: MIGRATIONS_TABLE,
    migrationSource: {
      getMigrations: () => Promise.resolve(sorted),
      getMigrationName: (m: Migration) => m.name,
      getMigration: (m: Migration) => Promise.resolve({ up: m.up, down: m.down }),
    },
  };
  const names = (result: unknown): string[] => (result as [number, string[]])[1];
  return {
    up: async () => names(await db.knex.migrate.up(config)),
    down: async () => names(await db.knex.migrate.down(config)),
  };
}

/** Walks every migration up, then every one down, writing the schema after each step. */
async function walk(db: Database, write: (line: string) => void): Promise<void> {
  const migrations = allMigrations();
  const step = migrator(db, migrations);
  write(`== start\n${await snapshot(db)}`);
  for (const direction of ['up', 'down'] as const) {
    for (let i = 0; i < migrations.length; i += 1) {
      let ran: string[];
      try {
        ran = await step[direction]();
      } catch (err) {
        write(`== ${direction} failed: ${err instanceof Error ? err.message : String(err)}\n${await snapshot(db)}`);
        return;
      }
      write(`== ${direction} ${ran.join(' ')}\n${await snapshot(db)}`);
    }
  }
}

const dialect = process.argv[2];
const write = (line: string): void => void process.stdout.write(`${line}\n`);
if (dialect === 'mysql') {
  const fresh = await freshMysqlDatabase('hd_steps');
  const db = openDatabase({ mysqlUrl: fresh.url, dataDir: '' });
  try {
    await walk(db, write);
  } finally {
    await db.knex.destroy();
    await fresh.drop();
  }
} else if (dialect === 'sqlite') {
  const dir = mkdtempSync(join(tmpdir(), 'hd-steps-'));
  const db = openDatabase({ mysqlUrl: undefined, dataDir: dir });
  try {
    await walk(db, write);
  } finally {
    await db.knex.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
} else {
  throw new Error('usage: [MYSQL_URL=...] tsx test/support/schema-steps.ts mysql|sqlite');
}
