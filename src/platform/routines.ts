/**
 * MySQL stored routines as versioned, checked artifacts. Each routine's CREATE PROCEDURE lives
 * in a .sql file of its own next to its area's store (`src/<area>/sql/<name>.sql`), with its
 * parameters declared once in TypeScript (`src/<area>/routines.ts`); the file is the truth.
 *
 * Installed from the file, a routine carries `COMMENT 'huodong sha256:<hash of the statement>'`.
 * A routine is in step with its file when that hash, its parameter names and modes, and its
 * body (information_schema.ROUTINES.ROUTINE_DEFINITION, whitespace collapsed) all agree.
 * `npm run migrate` re-creates every routine that is not (syncRoutines); the server refuses to
 * start while one is not (verifyRoutines), naming it. SQLite has no routines: the same
 * statements run from the stores there.
 *
 * A .sql file is read relative to the module that declares it (import.meta.url), so a build to
 * dist/ must copy the src/ .sql files beside the compiled modules (scripts/copy-sql.mjs).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import type { Connection as MysqlConnection } from 'mysql2';
import { isMysql, type Migration } from './db.js';

/** A value a routine parameter takes: the stores pass strings for BIGINTs beyond 2^53. */
export type RoutineValue = string | number | null;

export interface Routine<P extends string = string> {
  readonly name: string;
  /** The file holding the routine's CREATE PROCEDURE statement. */
  readonly file: URL;
  /** Parameter names in the order the file declares them. */
  readonly params: readonly P[];
}

/** A routine's arguments by name: every declared parameter, no other. */
export type RoutineArgs<R extends Routine> = { readonly [K in R['params'][number]]: RoutineValue };

/**
 * Declares a routine: its name, its file (e.g. `new URL('./sql/points_debit.sql',
 * import.meta.url)`) and its parameters in the file's order. The file is checked against this
 * the first time the routine is used.
 */
export function defineRoutine<const P extends string>(name: string, file: URL, params: readonly P[]): Routine<P> {
  return { name, file, params };
}

/** A routine's file, read and checked. */
export interface RoutineSource {
  readonly name: string;
  /** Path of the file, for messages. */
  readonly path: string;
  /** The CREATE PROCEDURE statement as the file has it (header comments dropped). */
  readonly statement: string;
  /** The statement as installed: with the hash comment after the parameter list. */
  readonly create: string;
  readonly hash: string;
  /** `IN p_x`, ... as declared, lower-cased mode and name, for comparison. */
  readonly params: readonly string[];
  /** From BEGIN (or its label) to the end, whitespace collapsed. */
  readonly body: string;
  /** `CALL name(?, ?, ...)`, one placeholder per parameter. */
  readonly call: string;
}

const HASH_PREFIX = 'huodong sha256:';

const collapse = (text: string): string => text.replace(/\s+/g, ' ').trim();

/** Index of the parenthesis closing the one at `open`. */
function closingParen(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i += 1) {
    const c = text[i];
    if (c === '(') depth += 1;
    else if (c === ')') {
      depth -= 1;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/** Splits on commas outside parentheses (DECIMAL(10,2) stays whole). */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (c === '(') depth += 1;
    else if (c === ')') depth -= 1;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

/** Parses a routine's source text; throws naming `path` when it is not what `routine` declares. */
export function parseRoutine(routine: Routine, text: string, path: string): RoutineSource {
  const fail = (problem: string): never => {
    throw new Error(`stored routine ${routine.name} (${path}): ${problem}`);
  };
  const head = /^CREATE PROCEDURE\s+`?(\w+)`?\s*\(/m.exec(text);
  if (head === null) return fail('no CREATE PROCEDURE statement');
  if (head[1] !== routine.name) fail(`the file creates ${String(head[1])}`);
  if (/^CREATE\s/im.test(text.slice(head.index + head[0].length))) fail('one CREATE statement per file');
  const statement = text.slice(head.index).trimEnd();
  const open = head[0].length - 1;
  const close = closingParen(statement, open);
  if (close < 0) fail('unbalanced parameter list');
  const params = splitTopLevel(statement.slice(open + 1, close)).map((p) => {
    const m = /^(IN|OUT|INOUT)\s+`?(\w+)`?\s/i.exec(`${p} `);
    return m === null ? fail(`parameter "${p}" has no mode and name`) : `${(m[1] ?? '').toLowerCase()} ${(m[2] ?? '').toLowerCase()}`;
  });
  const names = params.map((p) => p.split(' ')[1]);
  if (names.join(',') !== routine.params.map((p) => p.toLowerCase()).join(',')) {
    fail(`the file declares (${names.join(', ')}), the code (${routine.params.join(', ')})`);
  }
  const rest = statement.slice(close + 1);
  const begin = /^[ \t]*(\w+:\s*)?BEGIN\b/im.exec(rest);
  if (begin === null) return fail('the body must start on a line of its own with BEGIN or `label: BEGIN`');
  const characteristics = rest.slice(0, begin.index);
  if (/\bCOMMENT\b/i.test(characteristics)) fail('no COMMENT: the installer sets it');
  const hash = createHash('sha256').update(collapse(statement)).digest('hex');
  return {
    name: routine.name,
    path,
    statement,
    create: `${statement.slice(0, close + 1)}\nCOMMENT '${HASH_PREFIX}${hash}'${characteristics}${rest.slice(begin.index)}`,
    hash,
    params,
    body: collapse(rest.slice(begin.index)),
    call: `CALL ${routine.name}(${routine.params.map(() => '?').join(', ')})`,
  };
}

const sources = new WeakMap<Routine, RoutineSource>();

/** The routine's file, read and checked once. */
export function routineSource(routine: Routine): RoutineSource {
  let source = sources.get(routine);
  if (source === undefined) {
    const path = fileURLToPath(routine.file);
    source = parseRoutine(routine, readFileSync(path, 'utf8'), path);
    sources.set(routine, source);
  }
  return source;
}

/** The arguments in the routine's declared order. */
export function routineArgs<R extends Routine>(routine: R, args: RoutineArgs<R>): RoutineValue[] {
  const byName = args as Readonly<Record<string, RoutineValue>>;
  return routine.params.map((p) => {
    const value = byName[p];
    if (value === undefined) throw new Error(`${routine.name}: no argument for ${p}`);
    return value;
  });
}

/** What knex's pool hands out on MySQL: a mysql2 connection (callback API). */
interface PooledClient {
  acquireConnection(): Promise<MysqlConnection>;
  releaseConnection(connection: MysqlConnection): Promise<void>;
}

/**
 * Calls a routine with its arguments by name, on a connection of knex's own pool, skipping
 * knex's query builder, runner and binding formatter: for the hot calls (a payment, a draw)
 * whose whole work is one CALL, where that per-query work showed in profiles. A prepared
 * statement; MySQL only. Answers the routine's first result set.
 */
export async function callRoutine<Row, R extends Routine = Routine>(knex: Knex, routine: R, args: RoutineArgs<R>): Promise<Row[]> {
  const { call } = routineSource(routine);
  const values = routineArgs(routine, args);
  const client = knex.client as PooledClient;
  const connection = await client.acquireConnection();
  try {
    const results = await new Promise<unknown>((resolve, reject) => {
      connection.execute(call, values, (err, value) => (err ? reject(err) : resolve(value)));
    });
    const [first] = results as [Row[], ...unknown[]];
    return first;
  } finally {
    await client.releaseConnection(connection);
  }
}

/** callRoutine inside a transaction, on the transaction's connection. */
export async function callRoutineIn<Row, R extends Routine = Routine>(trx: Knex, routine: R, args: RoutineArgs<R>): Promise<Row[]> {
  const { call } = routineSource(routine);
  const [sets] = (await trx.raw(call, routineArgs(routine, args))) as [Row[][]];
  return sets[0] ?? [];
}

/** Why an installed routine is not in step with its file. */
export type RoutineDrift = 'missing' | 'other source' | 'parameters changed' | 'body changed';

interface Installed {
  readonly comment: string;
  /** Null where the user may not read it (MySQL 8 without SHOW_ROUTINE). */
  readonly body: string | null;
  readonly params: string[];
}

type Runner = (sql: string, bindings?: readonly RoutineValue[]) => Promise<unknown>;

const runnerOf =
  (knex: Knex, connection?: unknown): Runner =>
  async (sql, bindings = []) => {
    const query = bindings.length === 0 ? knex.raw(sql) : knex.raw(sql, [...bindings]);
    return connection === undefined ? query : query.connection(connection);
  };

async function installed(run: Runner, names: readonly string[]): Promise<Map<string, Installed>> {
  const found = new Map<string, Installed>();
  if (names.length === 0) return found;
  const marks = names.map(() => '?').join(', ');
  const [routines] = (await run(
    `SELECT ROUTINE_NAME AS name, ROUTINE_COMMENT AS comment, ROUTINE_DEFINITION AS body FROM information_schema.ROUTINES
      WHERE ROUTINE_SCHEMA = DATABASE() AND ROUTINE_TYPE = 'PROCEDURE' AND ROUTINE_NAME IN (${marks})`,
    names,
  )) as [Array<{ name: string; comment: string | null; body: string | null }>];
  const [params] = (await run(
    `SELECT SPECIFIC_NAME AS name, PARAMETER_MODE AS mode, PARAMETER_NAME AS param FROM information_schema.PARAMETERS
      WHERE SPECIFIC_SCHEMA = DATABASE() AND ROUTINE_TYPE = 'PROCEDURE' AND ORDINAL_POSITION > 0 AND SPECIFIC_NAME IN (${marks})
      ORDER BY SPECIFIC_NAME, ORDINAL_POSITION`,
    names,
  )) as [Array<{ name: string; mode: string | null; param: string | null }>];
  for (const r of routines) found.set(r.name, { comment: r.comment ?? '', body: r.body === null ? null : collapse(r.body), params: [] });
  for (const p of params) found.get(p.name)?.params.push(`${(p.mode ?? '').toLowerCase()} ${(p.param ?? '').toLowerCase()}`);
  return found;
}

function driftOf(source: RoutineSource, current: Installed | undefined): RoutineDrift | undefined {
  if (current === undefined) return 'missing';
  if (current.comment !== `${HASH_PREFIX}${source.hash}`) return 'other source';
  if (current.params.join(',') !== source.params.join(',')) return 'parameters changed';
  if (current.body !== null && current.body !== source.body) return 'body changed';
  return undefined;
}

/** Routines whose installed definition is not their file's, with why. */
export async function routineDrift(knex: Knex, routines: readonly Routine[], connection?: unknown): Promise<Array<{ routine: Routine; drift: RoutineDrift }>> {
  const run = runnerOf(knex, connection);
  const current = await installed(run, routines.map((r) => r.name));
  const drifted: Array<{ routine: Routine; drift: RoutineDrift }> = [];
  for (const routine of routines) {
    const drift = driftOf(routineSource(routine), current.get(routine.name));
    if (drift !== undefined) drifted.push({ routine, drift });
  }
  return drifted;
}

/** Drops the routine if it exists and creates it from its file. */
async function recreate(run: Runner, routine: Routine): Promise<void> {
  await run(`DROP PROCEDURE IF EXISTS ${routine.name}`);
  await run(routineSource(routine).create);
}

/** The routines' error when the server finds one out of step. */
export class RoutineDriftError extends Error {
  constructor(readonly drifted: ReadonlyArray<{ routine: Routine; drift: RoutineDrift }>) {
    super(
      `stored routine${drifted.length === 1 ? '' : 's'} not as the code defines: ${drifted
        .map(({ routine, drift }) => `${routine.name} (${drift}; source ${routineSource(routine).path})`)
        .join(', ')}; run \`npm run migrate\` to re-create ${drifted.length === 1 ? 'it' : 'them'}`,
    );
    this.name = 'RoutineDriftError';
  }
}

/** Server start: refuses (RoutineDriftError) while any routine differs from its file. */
export async function verifyRoutines(knex: Knex, routines: readonly Routine[]): Promise<void> {
  const drifted = await routineDrift(knex, routines);
  if (drifted.length > 0) throw new RoutineDriftError(drifted);
}

/**
 * `npm run migrate`: re-creates every routine that differs from its file and answers which,
 * with why. A named lock keeps two migrating instances from dropping each other's creation.
 */
export async function syncRoutines(knex: Knex, routines: readonly Routine[]): Promise<Array<{ name: string; drift: RoutineDrift }>> {
  const client = knex.client as { acquireConnection(): Promise<unknown>; releaseConnection(c: unknown): Promise<void> };
  const connection = await client.acquireConnection();
  const run = runnerOf(knex, connection);
  try {
    const [[lock]] = (await run(`SELECT GET_LOCK('huodong_routines', 60) AS taken`)) as [[{ taken: number | string | null } | undefined]];
    if (Number(lock?.taken) !== 1) throw new Error('could not take the huodong_routines lock within 60 s');
    try {
      const drifted = await routineDrift(knex, routines, connection);
      for (const { routine } of drifted) await recreate(run, routine);
      return drifted.map(({ routine, drift }) => ({ name: routine.name, drift }));
    } finally {
      await run(`SELECT RELEASE_LOCK('huodong_routines')`);
    }
  } finally {
    await client.releaseConnection(connection);
  }
}

/**
 * A dated migration that drops and re-creates routines from their files: how a change to a
 * routine ships (docs/adding-an-area.md). MySQL only. Its down leaves them: the release rolled
 * back to re-creates its own with `npm run migrate`.
 */
export function routineMigration(name: string, routines: readonly Routine[]): Migration {
  return {
    name,
    async up(knex) {
      if (!isMysql(knex)) return;
      for (const routine of routines) await recreate(runnerOf(knex), routine);
    },
    down: () => Promise.resolve(),
  };
}

/**
 * A released migration that created routines: frozen. It creates them from frozen copies of
 * the text it ran when it was released (`src/<area>/sql/released/`), never from the current
 * files, so a database built by the released migrations is the one that release left.
 */
export function releasedRoutineMigration(name: string, files: readonly URL[]): Migration {
  const statements = (): Array<{ name: string; sql: string }> =>
    files.map((file) => {
      const text = readFileSync(fileURLToPath(file), 'utf8');
      const head = /^CREATE PROCEDURE\s+(\w+)/m.exec(text);
      if (head === null) throw new Error(`${fileURLToPath(file)}: no CREATE PROCEDURE statement`);
      return { name: head[1] ?? '', sql: text.slice(head.index) };
    });
  return {
    name,
    async up(knex) {
      if (!isMysql(knex)) return;
      for (const { sql } of statements()) await knex.raw(sql);
    },
    async down(knex) {
      if (!isMysql(knex)) return;
      for (const { name: procedure } of statements()) await knex.raw('DROP PROCEDURE IF EXISTS ??', [procedure]);
    },
  };
}
