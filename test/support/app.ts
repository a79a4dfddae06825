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
import { createApp, type App } from '../../src/app.js';
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
export async function freshMysqlDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const root = new URL(requireEnv('MYSQL_URL'));
  const name = `hd_test_${randomBytes(6).toString('hex')}`;
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
      const db = await freshMysqlDatabase();
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
