/**
 * Upgrading a database the previous release left: its tables, migrations and stored routines
 * come from the frozen dump of that release (test/fixtures/release-ad9e915.sql), it takes data
 * through that release's routines, `npm run migrate` (the real CLI) upgrades it, and every hot
 * write path then runs on it; afterwards its tables and routines equal a fresh install's.
 * MariaDB only: SQLite has no routines and its schema is the migrations' alone.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'chai';
import mysql from 'mysql2/promise';
import { allMigrations } from '../../../src/app.js';
import { migrate, openDatabase } from '../../../src/platform/db.js';
import { freshMysqlDatabase, startTestApp, type TestApp } from '../../support/app.js';
import { loadDump, migrationsOf, schemaOf } from '../../support/schema.js';
import { createActivity, createUnit, participateSync, phone } from '../grant/fixtures.js';
import { savePrize, unique } from '../points/helpers.js';
import { ChangeDirection, PointsSource } from '../../../src/gen/huodong/points/v1/points.js';
import { lottery as lpb } from '@huodong/clients';

const RELEASE = new URL('../../fixtures/release-ad9e915.sql', import.meta.url);
const REPO = new URL('../../../', import.meta.url);

/** What the previous release wrote, through its own routines and their positional signatures. */
async function writeWithRelease(url: string, now: number): Promise<void> {
  const conn = await mysql.createConnection({ uri: url });
  try {
    await conn.query('INSERT INTO member_users (uid, cpoint, score, grade, updated_at) VALUES (?, ?, 0, 0, ?)', ['old-member', 10_000, now]);
    await conn.query('CALL member_pay_order(?, ?, ?, ?, ?, ?, ?, ?)', ['old-order', 'old-member', 250, 0, 'legacy', '', '', now]);
    await conn.query('CALL points_credit(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', ['old-points', 500, now, 'other', 'c-1', 'credit', '', '', 'old-credit', 'h', null, null]);
    await conn.query('CALL points_debit(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', [
      'old-points', 100, now, 'other', 'c-2', 'debit', '', '', 'old-debit', 'h', null, null, null, null, null, null, null, null, null,
    ]);
    await conn.query('INSERT INTO lottery_session_counters (aid, openid, session, plays, shares, wins) VALUES (999, ?, 0, 0, 0, 0)', ['old-player']);
    await conn.query('INSERT INTO lottery_user_counters (aid, openid, plays) VALUES (999, ?, 0)', ['old-player']);
    await conn.query('CALL lottery_draw(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', [
      999, 1, 'old-player', 0, 'old-draw', now, null, null, 1, 500, 'v1', null, null, 0, null, null, 0, null, null, null, null, null, null, '{}', '{}', '{}',
    ]);
    await conn.query('CALL grant_units(?, ?, ?, ?, ?, ?, ?, ?, ?)', [null, 'old-app', 'old-nonce', now, now - 600_000, 'old-identity', 'old-claim', '[]', null]);
  } finally {
    await conn.end();
  }
}

describe('upgrade from the previous release (ad9e915) [mysql]', function () {
  this.timeout(180_000);
  const drops: Array<() => Promise<void>> = [];
  const apps: TestApp[] = [];

  after(async function () {
    for (const app of apps) await app.stop();
    for (const drop of drops) await drop();
  });

  async function database(): Promise<string> {
    const db = await freshMysqlDatabase();
    drops.push(() => db.drop());
    return db.url;
  }

  it("the released migrations alone still build the release's database", async function () {
    const released = new Set(migrationsOf(RELEASE));
    expect(released.size).to.be.greaterThan(20);
    const fromDump = await database();
    await loadDump(fromDump, RELEASE);
    const rebuilt = await database();
    const db = openDatabase({ mysqlUrl: rebuilt, dataDir: '' });
    try {
      await migrate(db, allMigrations().filter((m) => released.has(m.name)));
    } finally {
      await db.knex.destroy();
    }
    const [a, b] = [await schemaOf(fromDump), await schemaOf(rebuilt)];
    expect(b.tables).to.deep.equal(a.tables);
    expect(b.routines).to.deep.equal(a.routines);
  });

  it('npm run migrate upgrades it; every hot write path then works, and tables and routines equal a fresh install', async function () {
    const url = await database();
    await loadDump(url, RELEASE);
    await writeWithRelease(url, Date.now());

    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/migrate.ts'], {
      cwd: REPO,
      env: { ...process.env, MYSQL_URL: url, LOG_LEVEL: 'silent' },
    });
    expect(stdout).to.match(/applied 20261202070000_recreate_points_routines/);

    const t = await startTestApp('mysql+redlock', { mysqlUrl: url });
    apps.push(t);
    const { member, points, lottery } = t.clients;

    // ConsumeCpoint: the old order is history an admin app still sees (rows from before keys had
    // owners belong to LEGACY_OWNER, see platform/owner.ts); the same id from an app is that
    // app's own payment, and a new one pays from the old balance.
    expect(await member.getCpoint({ uid: 'old-member' })).to.deep.include({ cpoint: '97.50' });
    expect(await member.checkConsume({ orderId: 'old-order', uid: 'old-member' })).to.deep.equal({ consumed: true });
    expect(await member.consumeCpoint({ orderId: 'old-order', uid: 'old-member', cpoint: '2.50' })).to.deep.equal({ orderId: 'old-order', cpoint: '95.00' });
    expect(await member.consumeCpoint({ orderId: 'new-order', uid: 'old-member', cpoint: '7.50' })).to.deep.equal({ orderId: 'new-order', cpoint: '87.50' });

    // ChangePoints credit and debit, ExchangePrize and SendPrize on the old lots.
    const change = (direction: ChangeDirection, faceValue: string) =>
      points.changePoints({ requestId: unique('r'), openId: 'old-points', direction, faceValue, source: PointsSource.POINTS_SOURCE_OTHER });
    expect((await change(ChangeDirection.CHANGE_DIRECTION_CREDIT, '50')).record?.balanceAfter).to.equal('450');
    expect((await change(ChangeDirection.CHANGE_DIRECTION_DEBIT, '30')).record?.balanceAfter).to.equal('420');
    const prize = await savePrize(t.clients, { faceValue: '100' });
    expect((await points.exchangePrize({ requestId: unique('x'), openId: 'old-points', prizeId: prize.prizeId })).balanceAfter).to.equal('320');
    const gift = await savePrize(t.clients, { faceValue: '100' });
    expect((await points.sendPrize({ requestId: unique('s'), openId: 'old-points', prizeId: gift.prizeId })).balanceAfter).to.equal('220');
    expect((await points.getUserPoints({ openId: 'old-points' })).points).to.equal('220');

    // Draw.
    const now = Math.floor(Date.now() / 60_000) * 60_000;
    const saved = await lottery.saveActivity({
      activity: lpb.Activity.fromPartial({
        enabled: true,
        title: 'upgrade',
        activeType: lpb.ActiveType.ACTIVE_TYPE_NORMAL,
        template: lpb.Template.TEMPLATE_SCRATCH_CARD,
        prizes: [{ prizeId: 0, type: lpb.PrizeType.PRIZE_TYPE_PHYSICAL, name: 'bike', sum: 5, chance: '100', money: '', min: '', max: '', img: '', link: '', desc: '', info: '' }],
        sessions: [{ startTime: new Date(now - 3_600_000), endTime: new Date(now + 3_600_000) }],
        maxPlay: 0,
        maxEplay: 0,
        maxShare: 0,
        maxPrize: 1,
      }),
    });
    const code = saved.activity?.code ?? '';
    const { token } = await lottery.enterActivity({ code, openid: 'new-player', nickname: 'p', avatar: '' });
    const drawn = await lottery.draw({ token, requestId: unique('d') });
    expect(drawn.prize?.name).to.equal('bike');

    // Participate.
    const activity = await createActivity(t.clients);
    await createUnit(t.clients, activity.id);
    expect((await participateSync(t.clients, { identity: phone(), activityLabel: activity.label })).resultCode).to.equal('0000');

    const fresh = await startTestApp('mysql+redlock');
    apps.push(fresh);
    const [upgraded, installed] = [await schemaOf(url), await schemaOf(fresh.app.config.mysqlUrl ?? '')];
    expect(upgraded.tables).to.deep.equal(installed.tables);
    expect(upgraded.routines).to.deep.equal(installed.routines);
  });
});
