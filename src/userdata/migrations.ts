import type { Migration } from '../platform/db.js';

export const TABLE = 'userdata_documents';

export const migrations: readonly Migration[] = [
  {
    name: '20261122000100_create_userdata_documents',
    async up(knex) {
      await knex.schema.createTable(TABLE, (t) => {
        t.bigInteger('actid').unsigned().notNullable();
        t.string('openid', 128).notNullable();
        // JSON text; up to 64 KiB of it, so MEDIUMTEXT on MySQL.
        t.text('data', 'mediumtext').notNullable();
        t.bigInteger('cas').notNullable();
        t.bigInteger('updated_at').notNullable();
        t.primary(['actid', 'openid']);
      });
    },
    async down(knex) {
      await knex.schema.dropTable(TABLE);
    },
  },
];
