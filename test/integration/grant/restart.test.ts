/**
 * Durability of async claims across a server's death, and the nonce window in time. Each test
 * starts its own servers on a shared store, as a restarted or second instance would see it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { createClients, grant, GrpcStatus, type Clients } from '@huodong/clients';
import { createApp, type App } from '../../../src/app.js';
import type { GrantOptions } from '../../../src/grant/service.js';
import { GrantStore } from '../../../src/grant/store.js';
import type { Clock } from '../../../src/platform/clock.js';
import { loadConfig } from '../../../src/platform/config.js';
import { openDatabase } from '../../../src/platform/db.js';
import { migratedMysqlDatabase, startTestApp, STORE_KINDS, type StoreKind } from '../../support/app.js';
import { FakeClock } from '../../support/clock.js';
import { expectError } from '../../support/errors.js';
import { areasWithGrant, createActivity, createUnit, nonce, openActivity, participateSync, phone, settled } from './fixtures.js';

interface SharedStore {
  readonly mysqlUrl?: string;
  readonly dataDir?: string;
  drop(): Promise<void>;
}

async function sharedStore(store: StoreKind): Promise<SharedStore> {
  if (store === 'mysql+redlock') {
    // A copy of the migrated template: these tests are about claims, not about migrating.
    const db = await migratedMysqlDatabase();
    return { mysqlUrl: db.url, drop: () => db.drop() };
  }
  const dir = mkdtempSync(join(tmpdir(), 'huodong-grant-'));
  return { dataDir: dir, drop: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })) };
}

const storeOptions = (shared: SharedStore): { mysqlUrl?: string; dataDir?: string } =>
  shared.mysqlUrl !== undefined ? { mysqlUrl: shared.mysqlUrl } : { dataDir: shared.dataDir ?? '' };

/** A server whose grant worker never gets to run before it is stopped: a crash, as far as claims can tell. */
function startDoomedServer(shared: SharedStore, clock?: Clock): Promise<{ app: App; clients: Clients }> {
  return startServerWith(shared, { workerStartDelayMs: 3_600_000 }, clock);
}

async function startServerWith(shared: SharedStore, options: GrantOptions, clock?: Clock): Promise<{ app: App; clients: Clients }> {
  const token = `test-${randomBytes(16).toString('hex')}`;
  const env: Record<string, string> = {
    HUODONG_GRPC_HOST: '127.0.0.1',
    HUODONG_GRPC_PORT: '0',
    HUODONG_HTTP_PORT: '-1',
    HUODONG_DEV: '1',
    HUODONG_DEV_TOKEN: token,
    HUODONG_JWT_SECRET: randomBytes(32).toString('hex'),
    LOG_LEVEL: 'silent',
  };
  if (shared.mysqlUrl !== undefined) {
    env.MYSQL_URL = shared.mysqlUrl;
    env.REDIS_URL = process.env.REDIS_URL ?? '';
  } else env.HUODONG_DATA_DIR = shared.dataDir ?? '';
  const app = await createApp(loadConfig(env), { areas: areasWithGrant(options), ...(clock === undefined ? {} : { clock }) });
  return { app, clients: createClients({ address: app.grpcAddress, token }) };
}

async function submitAsync(clients: Clients, activityLabel: string, identities: readonly string[]): Promise<string[]> {
  const answers = await Promise.all(
    identities.map((identity) => clients.grant.participate({ identity, activityLabel, source: 's', nonce: nonce() })),
  );
  for (const a of answers) expect(a.claim?.status).to.equal(grant.ClaimStatus.CLAIM_STATUS_PENDING);
  return answers.map((a) => a.claim?.claimId ?? '');
}

async function countRows(app: App, table: string, where: Record<string, string>): Promise<number> {
  const row = await app.db.knex(table).where(where).count({ n: '*' }).first();
  return Number((row as { n: number | string } | undefined)?.n ?? 0);
}

for (const store of STORE_KINDS) {
  describe(`ActivityGrantService async claims across restarts [${store}]`, function () {
    this.timeout(120_000);

    it('claims recorded by a server killed before completing them are completed after restart, once', async () => {
      const shared = await sharedStore(store);
      try {
        const first = await startDoomedServer(shared);
        const { activity, unit } = await openActivity(first.clients, { quota: '20' });
        const claimIds = await submitAsync(first.clients, activity.label, Array.from({ length: 30 }, () => phone()));
        first.clients.close();
        await first.app.stop();

        const second = await startTestApp(store, storeOptions(shared));
        try {
          const done = await Promise.all(claimIds.map((id) => settled(second.clients, id)));
          expect(done.filter((c) => c.resultCode === '0000')).to.have.lengthOf(20);
          expect(done.filter((c) => c.resultCode === '3002')).to.have.lengthOf(10);
          for (const c of done.filter((d) => d.resultCode === '0000')) {
            expect(await countRows(second.app, 'grant_entitlements', { claim_id: c.claimId })).to.equal(2);
          }
          expect(await countRows(second.app, 'grant_entitlements', { sub_activity_id: unit.id })).to.equal(40);
          expect(await countRows(second.app, 'grant_claims', { status: 'pending' })).to.equal(0);
        } finally {
          await second.stop();
        }
      } finally {
        await shared.drop();
      }
    });

    it('a claim leased by a worker that died is left alone until the lease runs out, then completed once, judged at the time it was made', async () => {
      const shared = await sharedStore(store);
      const clock = new FakeClock(new Date());
      try {
        const first = await startDoomedServer(shared, clock);
        // The activity closes while the claims wait; they were made in time, so they still grant.
        const activity = await createActivity(first.clients, {
          startTime: new Date(clock.now().getTime() - 60_000),
          endTime: new Date(clock.now().getTime() + 10_000),
        });
        await createUnit(first.clients, activity.id);
        const claimIds = await submitAsync(first.clients, activity.label, [phone(), phone(), phone()]);
        // The dead worker took the claims just before dying.
        const db = openDatabase(storeOptions(shared).mysqlUrl !== undefined ? { mysqlUrl: shared.mysqlUrl, dataDir: '' } : { mysqlUrl: undefined, dataDir: shared.dataDir ?? '' });
        const now = clock.now().getTime();
        for (const id of claimIds) expect(await new GrantStore(db).leaseClaim(id, 'dead-worker', now, now + 30_000)).to.not.equal(undefined);
        await db.knex.destroy();
        first.clients.close();
        await first.app.stop();

        // Its worker polls every 20 ms: the wait below gives it a dozen chances to take the claims.
        const second = await startServerWith(shared, { pollIntervalMs: 20 }, clock);
        try {
          await new Promise((r) => setTimeout(r, 300));
          for (const id of claimIds) {
            expect((await second.clients.grant.getClaim({ claimId: id })).claim?.status).to.equal(grant.ClaimStatus.CLAIM_STATUS_PENDING);
          }
          clock.advance(30_001);
          const done = await Promise.all(claimIds.map((id) => settled(second.clients, id)));
          for (const c of done) {
            expect(c.resultCode).to.equal('0000');
            expect(await countRows(second.app, 'grant_entitlements', { claim_id: c.claimId })).to.equal(2);
          }
        } finally {
          second.clients.close();
          await second.app.stop();
        }
      } finally {
        await shared.drop();
      }
    });

    it('an async claim that keeps failing is retried, then refused with 1002 after its attempts, granting nothing', async () => {
      const shared = await sharedStore(store);
      try {
        const server = await startServerWith(shared, { leaseMs: 30, pollIntervalMs: 20, maxAttempts: 3 });
        try {
          const { activity } = await openActivity(server.clients);
          const knex = server.app.db.knex;
          await knex.schema.renameTable('grant_entitlements', 'grant_entitlements_away');
          let claimId: string;
          try {
            [claimId = ''] = await submitAsync(server.clients, activity.label, [phone()]);
            const done = await settled(server.clients, claimId);
            expect([done.status, done.resultCode]).to.deep.equal([grant.ClaimStatus.CLAIM_STATUS_REFUSED, '1002']);
          } finally {
            await knex.schema.renameTable('grant_entitlements_away', 'grant_entitlements');
          }
          const row = (await knex('grant_claims').where({ id: claimId }).first()) as { attempts: number | string };
          expect(Number(row.attempts)).to.equal(3);
          expect(await countRows(server.app, 'grant_person_counts', { identity: (await server.clients.grant.getClaim({ claimId })).claim?.identity ?? '' })).to.equal(0);
        } finally {
          server.clients.close();
          await server.app.stop();
        }
      } finally {
        await shared.drop();
      }
    });

    it('a nonce is refused for 10 minutes by the clock, then accepted again', async () => {
      const clock = new FakeClock(new Date());
      const app = await startTestApp(store, { clock });
      try {
        const { activity } = await openActivity(app.clients, { perPersonLimit: 10 });
        const identity = phone();
        const n = nonce();
        expect((await participateSync(app.clients, { identity, activityLabel: activity.label, nonce: n })).resultCode).to.equal('0000');
        clock.advance(599_000);
        await expectError(participateSync(app.clients, { identity, activityLabel: activity.label, nonce: n }), GrpcStatus.ALREADY_EXISTS, 'NONCE_REPLAYED');
        clock.advance(2_000);
        expect((await participateSync(app.clients, { identity, activityLabel: activity.label, nonce: n })).resultCode).to.equal('0000');
        await expectError(participateSync(app.clients, { identity, activityLabel: activity.label, nonce: n }), GrpcStatus.ALREADY_EXISTS, 'NONCE_REPLAYED');
        expect(await countRows(app.app, 'grant_entitlements', { identity })).to.equal(4);
      } finally {
        await app.stop();
      }
    });
  });
}

describe('ActivityGrantService: two instances on one MariaDB complete each async claim once', function () {
  this.timeout(120_000);

  it('200 claims submitted to both instances: every one completed, exactly the quota granted', async () => {
    const shared = await sharedStore('mysql+redlock');
    const a = await startTestApp('mysql+redlock', storeOptions(shared));
    const b = await startTestApp('mysql+redlock', storeOptions(shared));
    // The second start re-keyed the shared dev app; talk to the first instance with its token.
    const toA = createClients({ address: a.grpcAddress, token: b.token });
    try {
      const { activity, unit } = await openActivity(b.clients, { quota: '150' });
      const identities = Array.from({ length: 200 }, () => phone());
      const claimIds = await Promise.all(
        identities.map(async (identity, i) => {
          const clients = i % 2 === 0 ? toA : b.clients;
          const res = await clients.grant.participate({ identity, activityLabel: activity.label, source: 's', nonce: nonce() });
          return res.claim?.claimId ?? '';
        }),
      );
      const done = await Promise.all(claimIds.map((id) => settled(b.clients, id, 60_000)));
      expect(done.filter((c) => c.resultCode === '0000')).to.have.lengthOf(150);
      expect(done.filter((c) => c.resultCode === '3002')).to.have.lengthOf(50);
      expect(await countRows(a.app, 'grant_entitlements', { sub_activity_id: unit.id })).to.equal(300);
    } finally {
      toA.close();
      await a.stop();
      await b.stop();
      await shared.drop();
    }
  });
});
