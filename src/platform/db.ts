/**
 * The relational store: MySQL through mysql2 when MYSQL_URL is set, otherwise the embedded
 * SQLite file under HUODONG_DATA_DIR. Services see one knex instance and write SQL that works
 * on both (conditional updates, unique keys, transactions).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { ConflictError, DomainError, UnavailableError } from './errors.js';
import type { Logger } from './logger.js';

export type Dialect = 'mysql' | 'sqlite';

export interface Database {
  readonly knex: Knex;
  readonly dialect: Dialect;
}

export interface Migration {
  /** `YYYYMMDDHHMMSS_<verb>_<object>`: applied in name order across all areas. */
  readonly name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/** Connections per instance to MySQL (HUODONG_MYSQL_POOL_MAX): three instances stay well under MySQL's default 151. */
export const DEFAULT_POOL_MAX = 20;

/** knex's messages as structured log lines instead of unstructured stderr. */
function knexLog(logger: Logger): Knex.Logger {
  const text = (message: unknown): string => (message instanceof Error ? message.message : String(message));
  return {
    warn: (message: unknown) => logger.warn({ component: 'knex' }, text(message)),
    error: (message: unknown) => logger.error({ component: 'knex' }, text(message)),
    deprecate: (method: string, alternative: string) => logger.warn({ component: 'knex' }, `${method} is deprecated, use ${alternative}`),
    debug: () => undefined,
  };
}

export interface DatabaseOptions {
  readonly mysqlUrl: string | undefined;
  readonly dataDir: string;
  readonly poolMax?: number;
  /** Where knex's own warnings go (a lost connection, a failed acquire); stderr when unset. */
  readonly logger?: Logger;
}

export function openDatabase(options: DatabaseOptions): Database {
  if (options.mysqlUrl !== undefined) {
    const knex = knexFactory({
      client: 'mysql2',
      connection: {
        uri: options.mysqlUrl,
        charset: 'utf8mb4',
        timezone: 'Z',
        supportBigNumbers: true,
        bigNumberStrings: true,
        dateStrings: false,
      } as Knex.MySql2ConnectionConfig,
      pool: { min: 0, max: options.poolMax ?? DEFAULT_POOL_MAX },
      acquireConnectionTimeout: 5_000,
      ...(options.logger === undefined ? {} : { log: knexLog(options.logger) }),
    });
    return { knex, dialect: 'mysql' };
  }
  mkdirSync(options.dataDir, { recursive: true });
  const knex = knexFactory({
    client: 'better-sqlite3',
    connection: { filename: join(options.dataDir, 'huodong.sqlite3') },
    useNullAsDefault: true,
    pool: {
      min: 1,
      max: 1,
      afterCreate(conn: { pragma(sql: string): unknown }, done: (err: Error | null) => void) {
        conn.pragma('journal_mode = WAL');
        conn.pragma('synchronous = NORMAL');
        conn.pragma('busy_timeout = 5000');
        conn.pragma('foreign_keys = ON');
        done(null);
      },
    },
  });
  return { knex, dialect: 'sqlite' };
}

class ListMigrationSource implements Knex.MigrationSource<Migration> {
  constructor(private readonly migrations: readonly Migration[]) {}
  getMigrations(): Promise<Migration[]> {
    return Promise.resolve([...this.migrations].sort((a, b) => a.name.localeCompare(b.name)));
  }
  getMigrationName(migration: Migration): string {
    return migration.name;
  }
  getMigration(migration: Migration): Promise<Knex.Migration> {
    return Promise.resolve({ up: migration.up, down: migration.down });
  }
}

/** Applies every pending migration; knex's lock table keeps concurrent starts safe. */
export async function migrate(db: Database, migrations: readonly Migration[]): Promise<string[]> {
  const [, applied] = (await db.knex.migrate.latest({
    migrationSource: new ListMigrationSource(migrations),
    tableName: 'huodong_migrations',
  })) as [number, string[]];
  return applied;
}

/** For migrations: MySQL-only column options (collations, charsets) go through this. */
export function isMysql(knex: Knex): boolean {
  const client = (knex.client as { config?: { client?: unknown } }).config?.client;
  return client === 'mysql2' || client === 'mysql';
}

/** True when the error is a primary-key or unique-key violation, on either store. */
export function isUniqueViolation(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  return (
    code === 'ER_DUP_ENTRY' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    code === 'SQLITE_CONSTRAINT_UNIQUE'
  );
}

/**
 * Codes meaning the store could not be reached or dropped the connection mid-call: the socket
 * (ECONNREFUSED, ECONNRESET, ...), mysql2's own connection errors, and the server refusing or
 * killing connections (too many, shutting down, killed, read-only after a failover).
 */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'PROTOCOL_ENQUEUE_AFTER_QUIT',
  'PROTOCOL_ENQUEUE_HANDSHAKE_TWICE',
  'ER_CON_COUNT_ERROR',
  'ER_TOO_MANY_USER_CONNECTIONS',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
  'ER_QUERY_INTERRUPTED',
  'ER_NET_READ_ERROR',
  'ER_NET_READ_INTERRUPTED',
  'ER_NET_ERROR_ON_WRITE',
  'ER_NET_WRITE_INTERRUPTED',
  'ER_ABORTING_CONNECTION',
  'ER_NEW_ABORTING_CONNECTION',
  'ER_CLIENT_INTERACTION_TIMEOUT',
  'ER_OPTION_PREVENTS_STATEMENT',
  'SQLITE_BUSY',
]);

/**
 * Messages of connection losses that carry no code: mysql2 refusing a command on a connection
 * it already saw die, and knex finding the connection gone under a query or a transaction.
 */
const UNAVAILABLE_MESSAGES = [
  /can't add new command when connection is in closed state/i,
  /can't write in closed state/i,
  /connection lost/i,
  /timeout acquiring a connection/i,
  /connection (?:is )?(?:closed|terminated)/i,
];

/** True when `err` (or an error it wraps as `cause`) is a lost or unreachable store. */
function isConnectionLoss(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 5) return false;
  const { code, fatal, name, message, cause } = err as { code?: unknown; fatal?: unknown; name?: unknown; message?: unknown; cause?: unknown };
  if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || code.startsWith('SQLITE_BUSY'))) return true;
  // mysql2 marks every error that ended the connection fatal (lost socket, protocol error,
  // refused handshake); server errors for one statement (a duplicate key) are not.
  if (fatal === true) return true;
  // knex could not get a pooled connection in acquireConnectionTimeout: the server is not answering.
  if (name === 'KnexTimeoutError') return true;
  if (typeof message === 'string' && UNAVAILABLE_MESSAGES.some((m) => m.test(message))) return true;
  return isConnectionLoss(cause, depth + 1);
}

/** MySQL aborted the transaction whole (deadlock victim, lock-wait timeout): it may simply run again. */
const CONFLICT_CODES = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT']);

function isConflict(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && CONFLICT_CODES.has(code);
}

/**
 * Runs `fn`, a whole transaction, again when the database aborted it as a deadlock victim or
 * after a lock-wait timeout, after a short jittered pause. The last failure propagates (and
 * answers ABORTED CONFLICT, see classifyStoreError).
 */
export async function retryConflicts<R>(fn: () => Promise<R>, attempts = 5): Promise<R> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= attempts || !isConflict(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, attempt * 5 + Math.random() * 10));
    }
  }
}

/**
 * Turns a store outage into UnavailableError and a conflict that outlived its retries into
 * ABORTED CONFLICT; anything else is returned unchanged.
 */
export function classifyStoreError(err: unknown): unknown {
  if (typeof err !== 'object' || err === null) return err;
  if (err instanceof DomainError) return err;
  if (isConflict(err)) return new ConflictError({ message: 'concurrent update conflict, retry', cause: err });
  if (isConnectionLoss(err)) return new UnavailableError({ what: 'the database', cause: err });
  return err;
}
