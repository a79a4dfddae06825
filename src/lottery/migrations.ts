/**
 * The legacy `ims_scratch_*` tables are created only when absent, with the documented columns
 * and types, and are never altered or dropped: a shop's existing tables are used as they are.
 * Everything huodong needs beyond them lives in `lottery_*` tables of its own.
 */
import type { Knex } from 'knex';
import { isMysql, type Migration } from '../platform/db.js';
import { releasedRoutineMigration, routineMigration } from '../platform/routines.js';
import { exactNoPadCollation, exactTextMigration, keepLegacyRows, keyOwnersMigration, uniqueKey } from '../platform/schema.js';
import { DRAW } from './routines.js';

export const T = {
  activity: 'ims_scratch_activity',
  person: 'ims_scratch_person',
  personPrize: 'ims_scratch_person_prize',
  whitelist: 'ims_serath_white_list',
  meta: 'lottery_activity_meta',
  stock: 'lottery_prize_stock',
  userCounters: 'lottery_user_counters',
  sessionCounters: 'lottery_session_counters',
  drawLog: 'lottery_draw_log',
} as const;

type Column = readonly [name: string, type: string];

const S = (n: number): string => `varchar(${n}) NOT NULL DEFAULT ''`;
const I = (type = 'int(11)', dflt = 0): string => `${type} NOT NULL DEFAULT ${dflt}`;

/** Column lists of the legacy tables (ims_scratch_activity as documented by the legacy system). */
const LEGACY: Record<string, { columns: readonly Column[]; uniques?: readonly (readonly string[])[]; indexes?: readonly (readonly string[])[] }> = {
  [T.activity]: {
    columns: [
      ['status', I('tinyint(1)', 1)],
      ['active_title', S(255)],
      ['active_time', S(2550)],
      ['max_play', I()],
      ['max_eplay', I()],
      ['max_share', I()],
      ['max_prize', I('int(11)', 1)],
      ['active_type', I('tinyint(11)', 1)],
      ['virtual', I()],
      ['template', I('int(11)', 10)],
      ['header_img', S(255)],
      ['rule_link', S(255)],
      ['rule', 'text'],
      ['need_address', I('tinyint(1)')],
      ['tips', S(2550)],
      ['prize', 'text'],
      ['isshare', I('tinyint(1)')],
      ['share_title', S(255)],
      ['share_desc', S(255)],
      ['share_link', S(255)],
      ['share_img', S(255)],
      ['config', S(255)],
      ['rid', I()],
      ['uniacid', I()],
      ['create_time', I()],
      ['update_time', I()],
    ],
  },
  [T.person]: {
    columns: [
      ['aid', I()],
      ['uniacid', I()],
      ['openid', S(128)],
      ['nickname', S(64)],
      ['headimgurl', S(255)],
      ['name', S(64)],
      ['tel', S(32)],
      ['address', S(255)],
      ['other_info', 'text'],
      // When the form was submitted; 0 until then.
      ['info_time', I()],
      ['create_time', I()],
      ['update_time', I()],
    ],
    uniques: [['aid', 'openid']],
  },
  [T.personPrize]: {
    columns: [
      ['aid', I()],
      ['pid', I()],
      ['openid', S(128)],
      ['prize_id', I()],
      ['prize_name', S(255)],
      ['prize_type', I('tinyint(1)', 2)],
      ['money', `varchar(16) NOT NULL DEFAULT '0.00'`],
      ['secret', S(32)],
      // 1 claimed, 2 not claimed (virtual prizes are 1 from the start).
      ['status', I('tinyint(1)', 2)],
      ['session', I()],
      ['create_time', I()],
      ['claim_time', I()],
    ],
    uniques: [['secret']],
    indexes: [['aid', 'openid'], ['aid', 'id']],
  },
  [T.whitelist]: {
    columns: [
      ['aid', I()],
      ['openid', S(128)],
      ['create_time', I()],
    ],
    uniques: [['aid', 'openid']],
  },
};

const q = (name: string): string => `\`${name}\``;

async function createLegacyTable(knex: Knex, table: string): Promise<void> {
  if (await knex.schema.hasTable(table)) return;
  const spec = LEGACY[table];
  if (spec === undefined) throw new Error(`no legacy DDL for ${table}`);
  const mysql = isMysql(knex);
  const lines = [
    mysql ? `${q('id')} int(11) NOT NULL AUTO_INCREMENT` : `${q('id')} INTEGER PRIMARY KEY AUTOINCREMENT`,
    ...spec.columns.map(([name, type]) => `${q(name)} ${type}`),
    ...(mysql ? [`PRIMARY KEY (${q('id')})`] : []),
    ...(spec.uniques ?? []).map((cols) => `CONSTRAINT ${q(`uk_${table}_${cols.join('_')}`)} UNIQUE (${cols.map(q).join(', ')})`),
  ];
  await knex.raw(`CREATE TABLE ${q(table)} (\n  ${lines.join(',\n  ')}\n)${mysql ? ' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4' : ''}`);
  for (const cols of spec.indexes ?? []) {
    await knex.raw(`CREATE INDEX ${q(`idx_${table}_${cols.join('_')}`)} ON ${q(table)} (${cols.map(q).join(', ')})`);
  }
}

export const migrations: readonly Migration[] = [
  {
    name: '20261122000500_create_ims_scratch_tables',
    async up(knex) {
      for (const table of [T.activity, T.person, T.personPrize, T.whitelist]) await createLegacyTable(knex, table);
    },
    // Legacy tables are shared with the legacy admin: never dropped.
    down: () => Promise.resolve(),
  },
  {
    // Not createTablesMigration: this release's down drops only the tables that exist.
    name: '20261122000510_create_lottery_tables',
    async up(knex) {
      await knex.schema.createTable(T.meta, (t) => {
        t.integer('aid').primary();
        t.string('code', 32).notNullable().unique();
        t.boolean('require_user_info').notNullable().defaultTo(false);
        t.bigInteger('create_time').notNullable();
      });
      await knex.schema.createTable(T.stock, (t) => {
        t.integer('aid').notNullable();
        t.integer('prize_id').notNullable();
        t.integer('won').notNullable().defaultTo(0);
        t.bigInteger('paid_cents').notNullable().defaultTo(0);
        t.primary(['aid', 'prize_id']);
      });
      await knex.schema.createTable(T.userCounters, (t) => {
        t.integer('aid').notNullable();
        t.string('openid', 128).notNullable();
        t.integer('plays').notNullable().defaultTo(0);
        t.primary(['aid', 'openid']);
      });
      await knex.schema.createTable(T.sessionCounters, (t) => {
        t.integer('aid').notNullable();
        t.string('openid', 128).notNullable();
        t.integer('session').notNullable();
        t.integer('plays').notNullable().defaultTo(0);
        t.integer('shares').notNullable().defaultTo(0);
        t.integer('wins').notNullable().defaultTo(0);
        t.primary(['aid', 'openid', 'session']);
      });
      await knex.schema.createTable(T.drawLog, (t) => {
        t.bigIncrements('id');
        t.integer('aid').notNullable();
        t.string('openid', 128).notNullable();
        t.string('request_id', 64).notNullable();
        t.integer('session').notNullable();
        // The random slot in [0, 1000), -1 when the draw stopped before drawing.
        t.integer('slot').notNullable();
        t.string('prize_version', 16).notNullable();
        t.string('pool_key', 48).nullable();
        t.integer('prize_id').nullable();
        t.string('outcome', 24).notNullable();
        t.bigInteger('paid_cents').notNullable().defaultTo(0);
        t.text('response').notNullable();
        t.bigInteger('create_time').notNullable();
        t.unique(['aid', 'openid', 'request_id']);
      });
    },
    async down(knex) {
      for (const table of [T.drawLog, T.sessionCounters, T.userCounters, T.stock, T.meta]) await knex.schema.dropTableIfExists(table);
    },
  },
  releasedRoutineMigration('20261122000520_create_lottery_draw_procedure', [
    new URL('./sql/released/20261122000520_lottery_draw.sql', import.meta.url),
  ]),
  {
    // Counting an activity's people on every enter and info call took time in proportion to them;
    // the count is kept instead: set when the meta row is created, raised by each new person.
    name: '20261202000530_add_lottery_participants',
    async up(knex) {
      await knex.schema.alterTable(T.meta, (t) => {
        t.bigInteger('participants').notNullable().defaultTo(0);
      });
      await knex(T.meta).update({
        participants: knex(T.person).count('*').where('aid', knex.ref(`${T.meta}.aid`)),
      });
    },
    async down(knex) {
      await knex.schema.alterTable(T.meta, (t) => {
        t.dropColumn('participants');
      });
    },
  },
  routineMigration('20261202070000_recreate_lottery_routines', [DRAW]),
  // Issue 14.1: the lottery's own tables compared openids (and request ids) under the
  // database default, case-insensitively and ignoring trailing spaces, so "VICTIM", "victim"
  // and "victim " shared play counters and replayed each other's draws wherever the legacy
  // person table let all of them in. Converting only splits keys, so no row collides. NO PAD,
  // since utf8mb4_bin would still take "victim" and "victim " for one counter row and one draw
  // key. The legacy ims_scratch_* tables are not altered (see store.ts exactOpenid).
  exactTextMigration('20261203090000_lottery_exact_text', [T.userCounters, T.sessionCounters, T.drawLog], exactNoPadCollation),
  // Issue 13.2: a draw's request id belongs to the owner of the user's token (the app that
  // entered the user, see tokens.ts); draws from before are LEGACY_OWNER's.
  keyOwnersMigration(
    '20261203090100_add_lottery_draw_owners',
    [
      {
        table: T.drawLog,
        drop: [uniqueKey(['aid', 'openid', 'request_id'], 'lottery_draw_log_aid_openid_request_id_unique')],
        add: [uniqueKey(['aid', 'openid', 'owner', 'request_id'], 'lottery_draw_log_aid_openid_owner_request_id')],
      },
    ],
    // Request ids two owners share cannot go back to one unique key: only the legacy rows are kept.
    keepLegacyRows([T.drawLog]),
  ),
  // lottery_draw logging and replaying the owner's draw (p_owner).
  routineMigration('20261203090200_recreate_lottery_routines', [DRAW]),
];
