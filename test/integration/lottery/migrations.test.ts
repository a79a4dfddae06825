/**
 * Upgrading a database that already serves lottery activities: the participant count added on
 * 2026-12-02 starts from the people each activity already has; the draws logged before request
 * ids had owners (2026-12-03) are LEGACY_OWNER's, and the lottery's own tables compare openids
 * exactly from then on (MariaDB and SQLite).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { isUniqueViolation, migrate, openDatabase, type Database } from '../../../src/platform/db.js';
import { migrations, T } from '../../../src/lottery/migrations.js';
import { STORE_KINDS, freshMysqlDatabase } from '../../support/app.js';

const COUNTED_SINCE = '20261202000530_add_lottery_participants';
const EXACT_SINCE = '20261203090000_lottery_exact_text';
const OWNED_SINCE = '20261203090100_add_lottery_draw_owners';

for (const store of STORE_KINDS) {
  describe(`lottery migrations [${store}]`, function () {
    let db: Database;
    let cleanup: () => Promise<void> | void;

    before(async function () {
      if (store === 'mysql+redlock') {
        const fresh = await freshMysqlDatabase();
        cleanup = () => fresh.drop();
        db = openDatabase({ mysqlUrl: fresh.url, dataDir: '' });
      } else {
        const dir = mkdtempSync(join(tmpdir(), 'lottery-migrations-'));
        cleanup = () => rmSync(dir, { recursive: true, force: true });
        db = openDatabase({ mysqlUrl: undefined, dataDir: dir });
      }
    });

    after(async function () {
      await db.knex.destroy();
      await cleanup();
    });

    it('counts the people of every activity that had a code before the count existed', async () => {
      await migrate(db, migrations.filter((m) => m.name < COUNTED_SINCE));
      const { knex } = db;
      const person = (aid: number, openid: string) => ({ aid, openid, nickname: openid, headimgurl: '', other_info: '', create_time: 1, update_time: 1 });
      await knex(T.meta).insert([
        { aid: 1, code: 'code-one', require_user_info: false, create_time: 1 },
        { aid: 2, code: 'code-two', require_user_info: false, create_time: 1 },
      ]);
      await knex(T.person).insert([person(1, 'a'), person(1, 'b'), person(1, 'c'), person(3, 'a')]);

      expect(await migrate(db, migrations.filter((m) => m.name <= COUNTED_SINCE))).to.deep.equal([COUNTED_SINCE]);
      const rows = await knex(T.meta).orderBy('aid').select('aid', 'participants');
      expect(rows.map((r: { aid: number; participants: number | string }) => [Number(r.aid), Number(r.participants)])).to.deep.equal([
        [1, 3],
        [2, 0],
      ]);
    });

    it("keeps the draws and counters of before: the draws are LEGACY_OWNER's, and openids compare exactly from then on", async () => {
      await migrate(db, migrations.filter((m) => m.name < EXACT_SINCE));
      const { knex } = db;
      const log = (openid: string, owner?: string) => ({
        aid: 5,
        openid,
        ...(owner === undefined ? {} : { owner }),
        request_id: 'r1',
        session: 0,
        slot: 1,
        prize_version: 'v',
        outcome: 'no_award',
        response: '{}',
        create_time: 1,
      });
      await knex(T.userCounters).insert({ aid: 5, openid: 'VICTIM', plays: 2 });
      await knex(T.drawLog).insert(log('VICTIM'));

      expect(await migrate(db, migrations)).to.include.members([EXACT_SINCE, OWNED_SINCE]);
      expect(await knex(T.drawLog).where({ aid: 5 }).select('openid', 'owner', 'request_id')).to.deep.equal([{ openid: 'VICTIM', owner: '', request_id: 'r1' }]);
      await knex(T.userCounters).insert([{ aid: 5, openid: 'victim', plays: 0 }, { aid: 5, openid: 'victim ', plays: 0 }]);
      expect(await knex(T.userCounters).where({ aid: 5, openid: 'VICTIM' }).select('plays')).to.deep.equal([{ plays: 2 }]);
      await knex(T.drawLog).insert([log('VICTIM', 'app-1'), log('victim', 'app-1'), log('victim ', 'app-1'), log('victim', 'app-2')]);
      let duplicate: unknown;
      await knex(T.drawLog).insert(log('victim', 'app-1')).catch((err: unknown) => (duplicate = err));
      expect(isUniqueViolation(duplicate), String(duplicate)).to.equal(true);
    });
  });
}
