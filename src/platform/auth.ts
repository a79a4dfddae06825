/**
 * Apps and their bearer tokens. Tokens are random, shown once, and stored only as SHA-256
 * hashes (they are high-entropy, so a slow hash adds nothing); the stored hash is compared in
 * constant time. Lookups are cached briefly so auth costs no query on the hot path.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Knex } from 'knex';
import type { Clock } from './clock.js';
import type { Migration } from './db.js';
import { InvalidArgumentError, UnauthenticatedError } from './errors.js';
import { isScope, type Scope } from './scopes.js';

export interface App {
  readonly id: string;
  readonly name: string;
  readonly scopes: ReadonlySet<Scope>;
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
];

interface AppRow {
  id: string;
  name: string;
  token_hash: string;
  scopes: string;
}

/** How long a token's app is cached (HUODONG_AUTH_CACHE_TTL_MS); bounds how late another instance sees a removal. */
export const DEFAULT_AUTH_CACHE_TTL_MS = 10_000;
const CACHE_MAX = 10_000;

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
  if (scopes.length === 0) throw new InvalidArgumentError('scopes', 'at least one scope is required');
  for (const scope of scopes) {
    if (!isScope(scope)) throw new InvalidArgumentError('scopes', `unknown scope "${scope}"`);
  }
  return [...new Set(scopes)] as Scope[];
}

export class AppStore {
  private readonly cache = new Map<string, { app: App | undefined; until: number }>();

  constructor(
    private readonly knex: Knex,
    private readonly clock: Clock,
    private readonly cacheTtlMs: number = DEFAULT_AUTH_CACHE_TTL_MS,
  ) {}

  /** Creates an app and returns its token; the token is not stored and cannot be shown again. */
  async create(name: string, scopes: readonly Scope[], token = newToken()): Promise<{ app: App; token: string }> {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
      throw new InvalidArgumentError('name', 'must be 1..64 letters, digits, "_", "." or "-"');
    }
    const id = randomUUID();
    await this.knex(TABLE).insert({
      id,
      name,
      token_hash: hashToken(token),
      scopes: scopes.join(','),
      created_at: Math.floor(this.clock.now().getTime() / 1000),
    });
    return { app: { id, name, scopes: new Set(scopes) }, token };
  }

  /** Creates or re-keys an app by name (used for the dev app). */
  async upsert(name: string, scopes: readonly Scope[], token: string): Promise<App> {
    const existing = await this.knex<AppRow>(TABLE).where({ name }).first();
    if (existing === undefined) return (await this.create(name, scopes, token)).app;
    await this.knex(TABLE)
      .where({ id: existing.id })
      .update({ token_hash: hashToken(token), scopes: scopes.join(',') });
    this.cache.clear();
    return { id: existing.id, name, scopes: new Set(scopes) };
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
    this.cache.clear();
    return { app: toApp(existing), token };
  }

  /** Replaces an app's scopes; undefined when there is no such app. */
  async setScopes(name: string, scopes: readonly Scope[]): Promise<App | undefined> {
    const updated = await this.knex(TABLE).where({ name }).update({ scopes: scopes.join(',') });
    this.cache.clear();
    if (updated === 0) return undefined;
    const row = await this.knex<AppRow>(TABLE).where({ name }).first();
    return row === undefined ? undefined : toApp(row);
  }

  async remove(name: string): Promise<boolean> {
    const removed = await this.knex(TABLE).where({ name }).delete();
    this.cache.clear();
    return removed > 0;
  }

  /** Resolves a bearer token to its app, or throws UnauthenticatedError. */
  async authenticate(token: string | undefined): Promise<App> {
    if (token === undefined || token === '') throw new UnauthenticatedError();
    const now = Date.now();
    // Keyed by the token itself, so a cached app costs no hashing either.
    let entry = this.cache.get(token);
    if (entry === undefined || entry.until < now) {
      const hash = hashToken(token);
      const row = await this.knex<AppRow>(TABLE).where({ token_hash: hash }).first();
      const app =
        row !== undefined && timingSafeEqual(Buffer.from(row.token_hash), Buffer.from(hash))
          ? toApp(row)
          : undefined;
      entry = { app, until: now + this.cacheTtlMs };
      if (this.cache.size >= CACHE_MAX) this.cache.clear();
      this.cache.set(token, entry);
    }
    if (entry.app === undefined) throw new UnauthenticatedError('unknown or revoked app token');
    return entry.app;
  }
}

function toApp(row: AppRow): App {
  return { id: row.id, name: row.name, scopes: new Set(row.scopes.split(',').filter(isScope)) };
}
