/**
 * Credentials that must not outlive what made them: dev mode's app, the bridge's own app, and
 * cached lookups of apps that are gone.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { createClients, GrpcStatus } from '@huodong/clients';
import { AppStore, authMigrations, hashToken, newToken } from '../../../src/platform/auth.js';
import { migrate, openDatabase } from '../../../src/platform/db.js';
import { createLogger } from '../../../src/platform/logger.js';
import { ALL_SCOPES } from '../../../src/platform/scopes.js';
import { startTestApp } from '../../support/app.js';
import { FakeClock } from '../../support/clock.js';
import { expectError } from '../../support/errors.js';

const JWT_SECRET = randomBytes(32).toString('hex');
/** A production start on the embedded store, asked for explicitly; NODE_ENV in another case. */
const PRODUCTION = { NODE_ENV: 'Production', HUODONG_STORE: 'sqlite', HUODONG_DEV: '', HUODONG_JWT_SECRET: JWT_SECRET };

function captureLog(): { logger: ReturnType<typeof createLogger>; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger('info', stream), lines };
}

describe('credentials', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'huodong-cred-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('the dev app stops working when the same store starts in production, and the log says so', async () => {
    const devToken = `dev-${randomBytes(16).toString('hex')}`;
    const dev = await startTestApp('sqlite+local', { dataDir: dir, env: { HUODONG_DEV_TOKEN: devToken } });
    await dev.clients.member.adminAddCpoint({ requestId: 'r-1', uid: 'u1', cpoint: '1.00', adminId: 'a' });
    await dev.stop();

    const { logger, lines } = captureLog();
    const prod = await startTestApp('sqlite+local', { dataDir: dir, env: { ...PRODUCTION, HUODONG_DEV_TOKEN: devToken }, logger });
    try {
      expect(prod.app.config.dev).to.equal(false);
      await expectError(
        prod.clients.member.adminAddCpoint({ requestId: 'r-2', uid: 'u1', cpoint: '1000.00', adminId: 'a' }),
        GrpcStatus.UNAUTHENTICATED,
      );
      expect(await prod.app.db.knex('huodong_apps').where({ name: 'dev' }).select('id')).to.have.length(0);
      const warning = lines.find((l) => typeof l.msg === 'string' && l.msg.includes('removed the app(s) dev mode created'));
      expect(warning).to.include({ level: 40 });
      expect(warning?.apps).to.deep.equal(['dev']);
      // the balance is what dev mode left: the refused call changed nothing
      const { clients } = await prod.clientsWithScopes(['member']);
      expect((await clients.member.getCpoint({ uid: 'u1' })).cpoint).to.equal('1.00');
    } finally {
      await prod.stop();
    }
  });

  it('a `dev` app made by an earlier release counts as dev-made: refused outside dev mode, removed at a production start', async () => {
    // The store as the first release left it: its app table, a `dev` row with every scope.
    const db = openDatabase({ mysqlUrl: undefined, dataDir: dir });
    const token = newToken();
    try {
      await migrate(db, authMigrations.slice(0, 1));
      await db.knex('huodong_apps').insert({
        id: randomUUID(),
        name: 'dev',
        token_hash: hashToken(token),
        scopes: ALL_SCOPES.join(','),
        created_at: 0,
      });
      await migrate(db, authMigrations);
      const row = (await db.knex('huodong_apps').where({ name: 'dev' }).first()) as { dev_only: unknown };
      expect(Number(row.dev_only)).to.equal(1);
      // an instance outside dev mode refuses it even before anything deletes it
      const store = new AppStore(db.knex, new FakeClock(), { devMode: false });
      let refused = false;
      await store.authenticate(token).catch(() => (refused = true));
      expect(refused).to.equal(true);
      const devStore = new AppStore(db.knex, new FakeClock(), { devMode: true });
      expect((await devStore.authenticate(token)).name).to.equal('dev');
    } finally {
      await db.knex.destroy();
    }
    const prod = await startTestApp('sqlite+local', { dataDir: dir, env: PRODUCTION });
    try {
      expect(await prod.app.db.knex('huodong_apps').where({ name: 'dev' }).select('id')).to.have.length(0);
      const old = prod.clientsWithToken(token);
      await expectError(old.userdata.getActUserData({ actid: '1', openid: 'o' }), GrpcStatus.UNAUTHENTICATED);
    } finally {
      await prod.stop();
    }
  });

  it('the bridge stores no credential: nothing stays in the app table, and leftovers of earlier releases are removed at start', async () => {
    const first = await startTestApp('sqlite+local', { dataDir: dir });
    const knex = first.app.db.knex;
    expect(await knex('huodong_apps').where('name', 'like', 'bridge%').select('name')).to.deep.equal([]);
    // what a SIGKILLed instance of an earlier release left, and an operator's app that merely looks alike
    const leftover = { id: randomUUID(), name: 'bridge-0123456789ab', token_hash: hashToken(newToken()), scopes: ALL_SCOPES.join(','), created_at: 0 };
    await knex('huodong_apps').insert(leftover);
    const shop = await first.app.apps.create('bridge-shop', ['userdata']);
    // the bridge's legacy routes still reach the services with the bridge's in-memory credential
    const winners = await fetch(`${first.bridgeUrl}/lottery/info/userlist?code=nope`);
    expect(winners.status).to.equal(404);
    await first.stop();

    const second = await startTestApp('sqlite+local', { dataDir: dir });
    try {
      const names = (await second.app.db.knex('huodong_apps').select('name')) as Array<{ name: string }>;
      expect(names.map((r) => r.name).sort()).to.deep.equal(['bridge-shop', 'dev']);
      const still = createClients({ address: second.grpcAddress, token: shop.token });
      expect((await still.userdata.getActUserData({ actid: '1', openid: 'o' })).cas).to.equal('0');
      still.close();
    } finally {
      await second.stop();
    }
  });

  it('a cached lookup expires by the injected clock, and tokens longer than the format allows are refused before any lookup', async () => {
    const db = openDatabase({ mysqlUrl: undefined, dataDir: dir });
    try {
      await migrate(db, authMigrations);
      const clock = new FakeClock();
      const store = new AppStore(db.knex, clock);
      const { token } = await store.create('shop', ['userdata']);
      expect((await store.authenticate(token)).name).to.equal('shop');
      // removed behind this instance's back (another instance, the CLI): cached for a while
      await db.knex('huodong_apps').where({ name: 'shop' }).delete();
      expect((await store.authenticate(token)).name).to.equal('shop');
      clock.advance(10_001);
      let refused = false;
      await store.authenticate(token).catch(() => (refused = true));
      expect(refused, 'a removed app must stop working once the cache time has passed').to.equal(true);

      // 257 characters: refused without a query, even with the table gone
      await db.knex.schema.dropTable('huodong_apps');
      const long = await store.authenticate('x'.repeat(257)).then(
        () => 'accepted',
        (err: unknown) => (err instanceof Error ? err.message : String(err)),
      );
      expect(long).to.equal('malformed app token');
    } finally {
      await db.knex.destroy();
    }
  });
});
