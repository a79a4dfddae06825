import { isMysql, type Migration } from '../platform/db.js';
import { createTablesMigration } from '../platform/schema.js';

export const TABLE = 'userdata_documents';

export const migrations: readonly Migration[] = [
  createTablesMigration('20261122000100_create_userdata_documents', {
    [TABLE]: (t, knex) => {
      t.bigInteger('actid').unsigned().notNullable();
      // openids are case-sensitive identifiers, whatever the database's default collation.
      const openid = t.string('openid', 128).notNullable();
      if (isMysql(knex)) openid.collate('utf8mb4_bin');
      // JSON text; up to 64 KiB of it, so MEDIUMTEXT on MySQL.
      t.text('data', 'mediumtext').notNullable();
      t.bigInteger('cas').notNullable();
      t.bigInteger('updated_at').notNullable();
      t.primary(['actid', 'openid']);
    },
  }),
];
