/**
 * Starts a real huodong (gRPC server + REST bridge on 127.0.0.1:0) on a real store, and a
 * real client, as a consumer would. Each app on MySQL gets a database of its own.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClients, type Clients } from '@huodong/clients';
import mysql from 'mysql2/promise';
import { createApp, prepareStores, type App } from '../../src/app.js';
import type { Area } from '../../src/platform/area.js';
import type { Clock } from '../../src/platform/clock.js';
import { loadConfig } from '../../src/platform/config.js';
import type { Logger } from '../../src/platform/logger.js';
import type { Scope } from '../../src/platform/scopes.js';
import type { Tracing } from '../../src/platform/tracing.js';

export type StoreKind = 'mysql+redlock' | 'sqlite+local';
export const STORE_KINDS: readonly StoreKind[] = ['mysql+redlock', 'sqlite+local'];

function requireEnv(name: 'MYSQL_URL' | 'REDIS_URL'): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`${name} is not set: run the suite with \`npm test\`, which starts MariaDB and Redis`);
  }
  return value;
}

/** Creates an empty database on the test MariaDB and returns its URL and a drop function. */
export async function freshMysqlDatabase(prefix = 'hd_test'): Promise<{ url: string; drop(): Promise<void> }> {
  const root = new URL(requireEnv('MYSQL_URL'));
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = await mysql.createConnection({ uri: `${root.protocol}//${root.username}:${root.password}@${root.host}/` });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`);
  await admin.end();
  const url = new URL(root.toString());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const conn = await mysql.createConnection({ uri: `${root.protocol}//${root.username}:${root.password}@${root.host}/` });
      await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await conn.end();
    },
  };
}

/**
 * A database every migration of every area has run on, made once per process and copied for
 * each app: migrating MariaDB takes seconds (DDL), copying its tables and routines a fraction.
 */
let template: Promise<string> | undefined;

function adminUri(): string {
  const root = new URL(requireEnv('MYSQL_URL'));
  return `${root.protocol}//${root.username}:${root.password}@${root.host}/`;
}

async function templateDatabase(): Promise<string> {
  template ??= (async () => {
    const db = await freshMysqlDatabase('hd_tmpl');
    const config = loadConfig({ MYSQL_URL: db.url, HUODONG_DEV: '1', LOG_LEVEL: 'silent' });
    const stores = await prepareStores(config);
    await stores.db.knex.destroy();
    return new URL(db.url).pathname.slice(1);
  })();
  return template;
}

/**
 * Copies the template's tables (with their rows: the migrations' bookkeeping and seeds) and
 * routines into `to`, as SHOW CREATE has them, so indexes, collations and routine texts are
 * exactly what the migrations made.
 */
async function copyDatabase(from: string, to: string): Promise<void> {
  const conn = await mysql.createConnection({ uri: adminUri(), multipleStatements: false });
  try {
    const [others] = await conn.query<mysql.RowDataPacket[]>(
      `SELECT 'view' AS kind, TABLE_NAME AS name FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?
       UNION ALL SELECT 'trigger', TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?
       UNION ALL SELECT 'event', EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?`,
      [from, from, from],
    );
    if (others.length > 0) throw new Error(`test/support/app.ts copies tables and routines only; the migrations made ${JSON.stringify(others)}`);
    await conn.query('SET SESSION FOREIGN_KEY_CHECKS = 0');
    await conn.query(`USE \`${to}\``);
    const [tables] = await conn.query<mysql.RowDataPacket[]>(
      "SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'",
      [from],
    );
    for (const { name } of tables as Array<{ name: string }>) {
      const [[created]] = await conn.query<mysql.RowDataPacket[]>(`SHOW CREATE TABLE \`${from}\`.\`${name}\``);
      await conn.query(String(created?.['Create Table']));
      await conn.query(`INSERT INTO \`${name}\` SELECT * FROM \`${from}\`.\`${name}\``);
    }
    const [routines] = await conn.query<mysql.RowDataPacket[]>(
      'SELECT ROUTINE_NAME AS name, ROUTINE_TYPE AS type FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?',
      [from],
    );
    for (const { name, type } of routines as Array<{ name: string; type: 'PROCEDURE' | 'FUNCTION' }>) {
      const [[created]] = await conn.query<mysql.RowDataPacket[]>(`SHOW CREATE ${type} \`${from}\`.\`${name}\``);
      const text = created?.[type === 'PROCEDURE' ? 'Create Procedure' : 'Create Function'];
      if (typeof text !== 'string') throw new Error(`cannot read ${type} ${name} of the template database`);
      await conn.query(text);
    }
  } finally {
    await conn.end();
  }
}

/** A database on the test MariaDB holding what a fresh install's migrations make, and a drop function. */
export async function migratedMysqlDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const from = await templateDatabase();
  const db = await freshMysqlDatabase();
  await copyDatabase(from, new URL(db.url).pathname.slice(1));
  return db;
}

/** Drops the template database (mocha's root hook, test/support/hooks.ts). */
export async function dropTemplateDatabase(): Promise<void> {
  if (template === undefined) return;
  const name = await template.catch(() => undefined);
  template = undefined;
  if (name === undefined) return;
  const conn = await mysql.createConnection({ uri: adminUri() });
  await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
  await conn.end();
}

export interface TestApp {
  readonly app: App;
  readonly store: StoreKind;
  /** Clients holding the dev token (every scope). */
  readonly clients: Clients;
  readonly token: string;
  readonly grpcAddress: string;
  readonly bridgeUrl: string;
  /** Creates an app with the given scopes and returns clients using its token. */
  clientsWithScopes(scopes: readonly Scope[]): Promise<{ clients: Clients; token: string }>;
  /** Clients with no token or an arbitrary one. */
  clientsWithToken(token: string | undefined): Clients;
  stop(): Promise<void>;
}

export interface TestAppOptions {
  readonly clock?: Clock;
  readonly env?: Readonly<Record<string, string>>;
  /** Reuse a database (e.g. to restart on the same data); the caller drops it. */
  readonly mysqlUrl?: string;
  readonly dataDir?: string;
  /** Run these areas instead of the real ones (platform tests). */
  readonly areas?: readonly Area[];
  /** Log here instead of the default (e.g. to read the log in a test). */
  readonly logger?: Logger;
  /** Tracing to use (an in-memory exporter); the test shuts it down. */
  readonly tracing?: Tracing;
}

export async function startTestApp(store: StoreKind, options: TestAppOptions = {}): Promise<TestApp> {
  const cleanups: Array<() => Promise<void> | void> = [];
  const env: Record<string, string> = {
    HUODONG_GRPC_HOST: '127.0.0.1',
    HUODONG_GRPC_PORT: '0',
    HUODONG_HTTP_PORT: '0',
    HUODONG_DEV: '1',
    HUODONG_DEV_TOKEN: `test-${randomBytes(16).toString('hex')}`,
    HUODONG_JWT_SECRET: randomBytes(32).toString('hex'),
    HUODONG_SHUTDOWN_GRACE_MS: '2000',
    // The race tests fire hundreds of calls at one hot row at once; with the production default
    // (20) they queue for the pool past its 5 s acquire timeout on a loaded 2-core machine.
    HUODONG_MYSQL_POOL_MAX: '64',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  };
  if (store === 'mysql+redlock') {
    if (options.mysqlUrl !== undefined) env.MYSQL_URL = options.mysqlUrl;
    else {
      // The real areas' schema is copied from a template; other areas migrate their own.
      const db = options.areas === undefined ? await migratedMysqlDatabase() : await freshMysqlDatabase();
      env.MYSQL_URL = db.url;
      cleanups.push(() => db.drop());
    }
    env.REDIS_URL = requireEnv('REDIS_URL');
  } else if (options.dataDir !== undefined) {
    env.HUODONG_DATA_DIR = options.dataDir;
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'huodong-test-'));
    env.HUODONG_DATA_DIR = dir;
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  }
  Object.assign(env, options.env);
  const config = loadConfig(env);
  const app = await createApp(config, {
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.areas === undefined ? {} : { areas: options.areas }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    ...(options.tracing === undefined ? {} : { tracing: options.tracing }),
  });
  const token = env.HUODONG_DEV_TOKEN as string;
  const open: Clients[] = [];
  const make = (t: string | undefined): Clients => {
    const c = createClients({ address: app.grpcAddress, ...(t === undefined ? {} : { token: t }) });
    open.push(c);
    return c;
  };
  const clients = make(token);
  return {
    app,
    store,
    clients,
    token,
    grpcAddress: app.grpcAddress,
    bridgeUrl: `http://127.0.0.1:${app.bridge?.port ?? 0}`,
    async clientsWithScopes(scopes) {
      const created = await app.apps.create(`t${randomBytes(6).toString('hex')}`, scopes);
      return { clients: make(created.token), token: created.token };
    },
    clientsWithToken: make,
    async stop() {
      for (const c of open) c.close();
      await app.stop();
      for (const cleanup of cleanups.reverse()) await cleanup();
    },
  };
}

/**
 * Starts a second instance on `of`'s store (its database, or its data directory), with settings
 * of its own: a short lock wait, a tuned area, a fake clock. It shares `of`'s dev token and JWT
 * secret, so starting it re-keys nothing `of` relies on, and stopping it leaves the store to
 * `of`. Much cheaper than an app of its own on MariaDB, which copies and drops a database.
 * With local locks (SQLite) each instance has its own: hold the sibling's to make it wait.
 */
export function startSiblingApp(of: TestApp, options: Omit<TestAppOptions, 'mysqlUrl' | 'dataDir'> = {}): Promise<TestApp> {
  const { config } = of.app;
  const env: Record<string, string> = { HUODONG_DEV_TOKEN: of.token, ...options.env };
  if (config.jwtSecret !== undefined) env.HUODONG_JWT_SECRET = config.jwtSecret;
  const store = of.store === 'mysql+redlock' ? { mysqlUrl: config.mysqlUrl ?? '' } : { dataDir: config.dataDir };
  return startTestApp(of.store, { ...options, ...store, env });
}

/** Runs the suite once per store: MariaDB + Redlock and the embedded SQLite + local locks. */
export function describeEachStore(title: string, suite: (ctx: () => TestApp, store: StoreKind) => void): void {
  for (const store of STORE_KINDS) {
    describe(`${title} [${store}]`, function () {
      let current: TestApp | undefined;
      before(async function () {
        current = await startTestApp(store);
      });
      after(async function () {
        await current?.stop();
      });
      suite(() => {
        if (current === undefined) throw new Error('test app not started');
        return current;
      }, store);
    });
  }
}
