/**
 * Stored routines changed behind the server's back: the server refuses to start, naming each
 * one and why; `npm run migrate`'s path re-creates exactly those, and the server starts again.
 */
import { expect } from 'chai';
import mysql from 'mysql2/promise';
import { prepareStores } from '../../../src/app.js';
import { loadConfig } from '../../../src/platform/config.js';
import { RoutineDriftError } from '../../../src/platform/routines.js';
import { freshMysqlDatabase, startTestApp } from '../../support/app.js';
import { schemaOf } from '../../support/schema.js';

describe('stored routines changed behind the server [mysql]', function () {
  this.timeout(120_000);

  it('the server refuses to start naming each; npm run migrate re-creates them', async function () {
    const db = await freshMysqlDatabase();
    try {
      await (await startTestApp('mysql+redlock', { mysqlUrl: db.url })).stop();
      const before = await schemaOf(db.url);
      const conn = await mysql.createConnection({ uri: db.url });
      try {
        // A hand edit of points_debit's body that keeps its comment (hash) and parameters.
        const edited = (before.routines.points_debit ?? '').replace("SET v_refused = 'insufficient'", "SET v_refused = 'short'");
        expect(edited).to.not.equal(before.routines.points_debit);
        await conn.query('DROP PROCEDURE points_debit');
        await conn.query(edited);
        // member_pay_order from another source: the text of the previous release.
        await conn.query('DROP PROCEDURE member_pay_order');
        await conn.query((before.routines.member_pay_order ?? '').replace(/\n\s*COMMENT '[^']*'/, ''));
        await conn.query('DROP PROCEDURE lottery_draw');
      } finally {
        await conn.end();
      }

      let refused: unknown;
      try {
        await (await startTestApp('mysql+redlock', { mysqlUrl: db.url })).stop();
      } catch (err) {
        refused = err;
      }
      expect(refused).to.be.instanceOf(RoutineDriftError);
      const message = (refused as Error).message;
      expect(message).to.contain('points_debit (body changed');
      expect(message).to.contain('member_pay_order (other source');
      expect(message).to.contain('lottery_draw (missing');
      expect(message).to.contain('npm run migrate');

      const { db: repaired, recreated } = await prepareStores(loadConfig({ MYSQL_URL: db.url, HUODONG_DEV: '0' }), undefined, { routines: 'repair' });
      await repaired.knex.destroy();
      expect(recreated).to.have.deep.members([
        { name: 'member_pay_order', drift: 'other source' },
        { name: 'points_debit', drift: 'body changed' },
        { name: 'lottery_draw', drift: 'missing' },
      ]);
      expect((await schemaOf(db.url)).routines).to.deep.equal(before.routines);
      await (await startTestApp('mysql+redlock', { mysqlUrl: db.url })).stop();
    } finally {
      await db.drop();
    }
  });
});
