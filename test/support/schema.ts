/**
 * A MySQL database's schema as text, for comparing an upgraded database with a fresh install,
 * and the frozen dump of a release (test/fixtures/) read back into an empty database.
 */
import { readFileSync } from 'node:fs';
import mysql from 'mysql2/promise';

export interface Schema {
  /** Table name -> SHOW CREATE TABLE, AUTO_INCREMENT counters dropped. */
  readonly tables: Record<string, string>;
  /** Procedure name -> SHOW CREATE PROCEDURE, definer dropped. */
  readonly routines: Record<string, string>;
}

const normaliseTable = (sql: string): string => sql.replace(/ AUTO_INCREMENT=\d+/, '');
const normaliseRoutine = (sql: string): string => sql.replace(/^CREATE DEFINER=\S+ /, 'CREATE ');

export async function schemaOf(url: string): Promise<Schema> {
  const conn = await mysql.createConnection({ uri: url });
  try {
    const tables: Record<string, string> = {};
    const routines: Record<string, string> = {};
    const [names] = (await conn.query(`SHOW FULL TABLES WHERE Table_type = 'BASE TABLE'`)) as [Array<Record<string, string>>, unknown];
    for (const row of names) {
      const name = Object.values(row)[0] as string;
      const [[created]] = (await conn.query(`SHOW CREATE TABLE \`${name}\``)) as [Array<{ 'Create Table': string }>, unknown];
      tables[name] = normaliseTable(created?.['Create Table'] ?? '');
    }
    const [procs] = (await conn.query(`SELECT ROUTINE_NAME AS name FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE() ORDER BY 1`)) as [
      Array<{ name: string }>,
      unknown,
    ];
    for (const { name } of procs) {
      const [[created]] = (await conn.query(`SHOW CREATE PROCEDURE \`${name}\``)) as [Array<{ 'Create Procedure': string }>, unknown];
      routines[name] = normaliseRoutine(created?.['Create Procedure'] ?? '');
    }
    return { tables, routines };
  } finally {
    await conn.end();
  }
}

/** The schema and the migrations table of a database, as statements ending in a line `//`. */
export async function dumpOf(url: string, header: string): Promise<string> {
  const { tables, routines } = await schemaOf(url);
  const conn = await mysql.createConnection({ uri: url });
  try {
    const [migrations] = (await conn.query('SELECT name, batch, migration_time FROM huodong_migrations ORDER BY id')) as [
      Array<{ name: string; batch: number; migration_time: Date }>,
      unknown,
    ];
    const out = [header.trimEnd(), 'DELIMITER //'];
    for (const sql of Object.values(tables)) out.push(`${sql}\n//`);
    for (const m of migrations) {
      out.push(`${conn.format('INSERT INTO huodong_migrations (name, batch, migration_time) VALUES (?, ?, ?)', [m.name, m.batch, m.migration_time])}\n//`);
    }
    out.push('INSERT INTO huodong_migrations_lock (is_locked) VALUES (0)\n//');
    for (const sql of Object.values(routines)) out.push(`${sql}\n//`);
    out.push('DELIMITER ;', '');
    return out.join('\n');
  } finally {
    await conn.end();
  }
}

/** Runs a dump written by dumpOf (also readable by the mysql client) against `url`. */
export async function loadDump(url: string, file: URL): Promise<void> {
  const text = readFileSync(file, 'utf8');
  const statements = text
    .split(/^\/\/$/m)
    .map((s) => s.replace(/^(--[^\n]*\n|DELIMITER [^\n]*\n|\s*\n)*/g, '').trim())
    .filter((s) => s !== '' && !s.startsWith('DELIMITER'));
  const conn = await mysql.createConnection({ uri: url });
  try {
    for (const sql of statements) await conn.query(sql);
  } finally {
    await conn.end();
  }
}

/** The migration names a dump records as applied. */
export function migrationsOf(file: URL): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/INSERT INTO huodong_migrations \(name, batch, migration_time\) VALUES \('([^']+)'/g)].map((m) => m[1] ?? '');
}
