/**
 * Apps and their bearer tokens. Tokens are random, shown once, and stored only as SHA-256
 * hashes (they are high-entropy, so a slow hash adds nothing); the stored hash is compared in
 * constant time. Lookups are cached briefly so auth costs no query on the hot path; the cache
 * is keyed by the hash, bounded in entries (so in bytes: a key is 64 characters, an app a name
 * and a few scopes) and in age, and unknown tokens have a smaller cache of their own so a flood
 * of made-up tokens neither grows memory nor evicts the real apps.
 */
import { TtlCache } from './cache.js';
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Knex } from 'knex';
import type { Clock } from './clock.js';
import { MAX_TOKEN_LENGTH } from './config.js';
import type { Migration } from './db.js';
import { commonErrors, UnauthenticatedError } from './errors.js';
import { isScope, type Scope } from './scopes.js';

export interface App {
  readonly id: string;
  readonly name: string;
  readonly scopes: ReadonlySet<Scope>;
  /** Made by dev mode: accepted only in dev mode. */
  readonly devOnly?: boolean;
}

const TABLE = 'huodong_apps';

export const authMigrations: readonly Migration[] = [
  {
    name: '20261122000000_create_huodong_apps',
    async up(knex) {
      await knex.schema.createTable(TABLE, (t) => {
        t.string('id', 36).primary();
        t.string('name', 64).notNullable().unique();
        t.string('token_hash', 64).notNullable().unique();
        t.string('scopes', 512).notNullable();
        t.bigInteger('created_at').notNullable();
      });
    },
    async down(knex) {
      await knex.schema.dropTable(TABLE);
    },
  },
  {
    // Dev mode's all-scope app must not outlive dev mode. Releases before this one made it
    // without saying so; it was always the app named `dev`, so that row is taken as dev-made.
    name: '20261202070000_add_huodong_apps_dev_only',
    async up(knex) {
      await knex.schema.alterTable(TABLE, (t) => {
        t.boolean('dev_only').notNullable().defaultTo(false);
      });
      await knex(TABLE).where({ name: DEV_APP }).update({ dev_only: true });
    },
    async down(knex) {
      await knex.schema.alterTable(TABLE, (t) => {
        t.dropColumn('dev_only');
      });
    },
  },
];

/** The app dev mode creates. */
export const DEV_APP = 'dev';

/**
 * The name releases before 2026-12-02 gave the bridge's stored all-scope app; a crash left it
 * behind for good. The bridge's credential now lives in memory only, and rows of this shape
 * are deleted at start.
 */
const LEFTOVER_BRIDGE_APP = /^bridge-[0-9a-f]{12}$/;

interface AppRow {
  id: string;
  name: string;
  token_hash: string;
  scopes: string;
  dev_only: boolean | number;
}

/** How long a token's app is cached (HUODONG_AUTH_CACHE_TTL_MS); bounds how late another instance sees a removal. */
export const DEFAULT_AUTH_CACHE_TTL_MS = 10_000;
const CACHE_MAX = 10_000;
const UNKNOWN_CACHE_MAX = 1_000;

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function newToken(): string {
  return `hd_${randomBytes(32).toString('base64url')}`;
}

export function parseScopes(raw: string): Scope[] {
  const scopes = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (scopes.length === 0) throw commonErrors.invalid('scopes', 'at least one scope is required');
  for (const scope of scopes) {
    if (!isScope(scope)) throw commonErrors.invalid('scopes', `unknown scope "${scope}"`);
  }
  return [...new Set(scopes)] as Scope[];
}

export interface AppStoreOptions {
  /** Outside dev mode, apps dev mode created are refused (and deleted at start, see app.ts). */
  readonly devMode?: boolean;
  /** How long a token's app is cached (HUODONG_AUTH_CACHE_TTL_MS); bounds how late another instance sees a removal. */
  readonly cacheTtlMs?: number;
}

export class AppStore {
  /** By token hash (64 hex characters): the entry caps bound the bytes as well. */
  private readonly known: TtlCache<string, App>;
  private readonly unknown: TtlCache<string, true>;
  /** Apps that live in this process only (the in-process bridge's), by token hash. */
  private readonly ephemeral = new Map<string, App>();
  private readonly devMode: boolean;

  constructor(
    private readonly knex: Knex,
    private readonly clock: Clock,
    options: AppStoreOptions = {},
  ) {
    this.devMode = options.devMode ?? false;
    const ttl = options.cacheTtlMs ?? DEFAULT_AUTH_CACHE_TTL_MS;
    this.known = new TtlCache<string, App>(clock, { max: CACHE_MAX, ttlMs: ttl });
    this.unknown = new TtlCache<string, true>(clock, { max: UNKNOWN_CACHE_MAX, ttlMs: ttl });
  }

  /** Creates an app and returns its token; the token is not stored and cannot be shown again. */
  async create(name: string, scopes: readonly Scope[], token = newToken(), devOnly = false): Promise<{ app: App; token: string }> {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
      throw commonErrors.invalid('name', 'must be 1..64 letters, digits, "_", "." or "-"');
    }
    const id = randomUUID();
    await this.knex(TABLE).insert({
      id,
      name,
      token_hash: hashToken(token),
      scopes: scopes.join(','),
      created_at: Math.floor(this.clock.now().getTime() / 1000),
      dev_only: devOnly,
    });
    return { app: { id, name, scopes: new Set(scopes) }, token };
  }

  /** Creates or re-keys dev mode's app, marked dev-only so that no other mode accepts it. */
  async upsertDevApp(scopes: readonly Scope[], token: string): Promise<App> {
    const existing = await this.knex<AppRow>(TABLE).where({ name: DEV_APP }).first();
    if (existing === undefined) return (await this.create(DEV_APP, scopes, token, true)).app;
    await this.knex(TABLE)
      .where({ id: existing.id })
      .update({ token_hash: hashToken(token), scopes: scopes.join(','), dev_only: true });
    this.clearCaches();
    return { id: existing.id, name: DEV_APP, scopes: new Set(scopes) };
  }

  /**
   * An app with a fresh token that lives in this process only: never stored, gone with the
   * process (a crash leaves nothing behind), unknown to every other instance.
   */
  createEphemeral(name: string, scopes: readonly Scope[]): { app: App; token: string } {
    const token = newToken();
    const app: App = { id: `ephemeral:${randomUUID()}`, name, scopes: new Set(scopes) };
    this.ephemeral.set(hashToken(token), app);
    return { app, token };
  }

  removeEphemeral(app: App): void {
    for (const [hash, candidate] of this.ephemeral) if (candidate === app) this.ephemeral.delete(hash);
  }

  /** Deletes the dev-only apps (for a start outside dev mode); answers their names. */
  async removeDevOnly(): Promise<string[]> {
    const rows = await this.knex<AppRow>(TABLE).where({ dev_only: true }).select('id', 'name');
    if (rows.length === 0) return [];
    await this.knex(TABLE).whereIn('id', rows.map((r) => r.id)).delete();
    this.clearCaches();
    return rows.map((r) => r.name);
  }

  /** Deletes the stored all-scope bridge apps older releases made (see LEFTOVER_BRIDGE_APP). */
  async removeLeftoverBridgeApps(): Promise<string[]> {
    const rows = await this.knex<AppRow>(TABLE).where('name', 'like', 'bridge-%').select('id', 'name');
    const leftovers = rows.filter((r) => LEFTOVER_BRIDGE_APP.test(r.name));
    if (leftovers.length === 0) return [];
    await this.knex(TABLE).whereIn('id', leftovers.map((r) => r.id)).delete();
    this.clearCaches();
    return leftovers.map((r) => r.name);
  }

  async list(): Promise<App[]> {
    const rows = await this.knex<AppRow>(TABLE).select().orderBy('name');
    return rows.map(toApp);
  }

  /** Gives an app a new token; the old one is refused at once here, elsewhere within the cache TTL. */
  async rotate(name: string, token = newToken()): Promise<{ app: App; token: string } | undefined> {
    const existing = await this.knex<AppRow>(TABLE).where({ name }).first();
    if (existing === undefined) return undefined;
    await this.knex(TABLE).where({ id: existing.id }).update({ token_hash: hashToken(token) });
    this.clearCaches();
    return { app: toApp(existing), token };
  }

  /** Replaces an app's scopes; undefined when there is no such app. */
  async setScopes(name: string, scopes: readonly Scope[]): Promise<App | undefined> {
    const updated = await this.knex(TABLE).where({ name }).update({ scopes: scopes.join(',') });
    this.clearCaches();
    if (updated === 0) return undefined;
    const row = await this.knex<AppRow>(TABLE).where({ name }).first();
    return row === undefined ? undefined : toApp(row);
  }

  async remove(name: string): Promise<boolean> {
    const removed = await this.knex(TABLE).where({ name }).delete();
    this.clearCaches();
    return removed > 0;
  }

  /** Resolves a bearer token to its app, or throws UnauthenticatedError. */
  async authenticate(token: string | undefined): Promise<App> {
    if (token === undefined || token === '') throw new UnauthenticatedError();
    // Longer than any token we issue or accept: refused before it is hashed, cached or queried.
    if (token.length > MAX_TOKEN_LENGTH) throw new UnauthenticatedError('malformed app token');
    const hash = hashToken(token);
    const ephemeral = this.ephemeral.get(hash);
    if (ephemeral !== undefined) return ephemeral;
    const cached = this.known.get(hash);
    if (cached !== undefined) return cached;
    if (!this.unknown.has(hash)) {
      const row = await this.knex<AppRow>(TABLE).where({ token_hash: hash }).first();
      const found = row !== undefined && timingSafeEqual(Buffer.from(row.token_hash), Buffer.from(hash));
      if (found && (this.devMode || !isDevOnly(row))) {
        const app = toApp(row);
        this.known.set(hash, app);
        return app;
      }
      this.unknown.set(hash, true);
    }
    throw new UnauthenticatedError('unknown or revoked app token');
  }

  /**
   * The name of the app a token belonged to when this instance last authenticated it, for the
   * bridge's access log; never a query, never a decision. Undefined for a token this instance
   * has not seen (or refused), or once its entry was evicted or cleared.
   */
  knownName(token: string): string | undefined {
    if (token.length > MAX_TOKEN_LENGTH) return undefined;
    const hash = hashToken(token);
    return (this.ephemeral.get(hash) ?? this.known.peek(hash))?.name;
  }

  private clearCaches(): void {
    this.known.clear();
    this.unknown.clear();
  }
}

function isDevOnly(row: AppRow): boolean {
  return row.dev_only === true || Number(row.dev_only) === 1;
}

function toApp(row: AppRow): App {
  return { id: row.id, name: row.name, scopes: new Set(row.scopes.split(',').filter(isScope)), devOnly: isDevOnly(row) };
}
