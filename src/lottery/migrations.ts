/**
 * The legacy `ims_scratch_*` tables are created only when absent, with the documented columns
 * and types, and are never altered or dropped: a shop's existing tables are used as they are.
 * Everything huodong needs beyond them lives in `lottery_*` tables of its own.
 */
import type { Knex } from 'knex';
import { isMysql, procedureMigration, type Migration } from '../platform/db.js';

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

/**
 * MySQL only: the first try of a draw (store.ts drawOnce with the stock taken last) as one
 * round trip, with the same statements and checks: the play (and on a winning slot the
 * session's win) taken by conditional UPDATEs, then the prize row, the log row
 * and, last, the exact amount from stock; any refusal rolls the draw back whole. The caller
 * renders the answers beforehand: one for each refusal and one for the drawn result. Answers
 * one row (outcome, log_id): outcome is the logged result, 'short' when the stock no longer
 * fits the drawn amount (nothing was written; the caller redoes the draw taking stock first),
 * or 'replayed' when the request id was logged before (nothing was written).
 */
export const DRAW_PROCEDURE = 'lottery_draw';
const drawProcedure = `
CREATE PROCEDURE ${DRAW_PROCEDURE}(
  IN p_aid INT, IN p_pid INT, IN p_openid VARCHAR(128), IN p_session INT, IN p_request_id VARCHAR(64), IN p_now BIGINT,
  IN p_max_session_plays INT, IN p_max_total_plays INT, IN p_max_wins INT,
  IN p_slot INT, IN p_prize_version VARCHAR(16),
  IN p_prize_id INT, IN p_pool_key VARCHAR(48), IN p_known_exhausted TINYINT,
  IN p_prize_name VARCHAR(255), IN p_prize_type INT, IN p_claimed TINYINT, IN p_secret VARCHAR(32), IN p_money VARCHAR(16),
  IN p_claim_kind VARCHAR(8), IN p_claim_sum BIGINT, IN p_claim_money BIGINT, IN p_cents BIGINT,
  IN p_no_times TEXT, IN p_have_award TEXT, IN p_result TEXT)
MODIFIES SQL DATA
draw: BEGIN
  DECLARE v_wins INT;
  DECLARE v_outcome VARCHAR(24);
  DECLARE v_response TEXT;
  DECLARE v_paid BIGINT DEFAULT 0;
  DECLARE v_log_id BIGINT;
  DECLARE v_replayed TINYINT DEFAULT 0;
  DECLARE v_taken TINYINT;
  -- A prize this process knows is gone ends as stock_gone; its win is not taken at all.
  DECLARE v_win INT DEFAULT IF(p_prize_id IS NULL OR p_known_exhausted, 0, 1);
  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
  START TRANSACTION;
  -- The play (and the session's win) from the session row, then from the user's total; when the
  -- total refuses, the session row is given back. (Two single-row UPDATEs cost MariaDB about
  -- half of one multi-table UPDATE.)
  UPDATE ${T.sessionCounters} SET plays = plays + 1, wins = wins + v_win
    WHERE aid = p_aid AND openid = p_openid AND session = p_session AND wins < p_max_wins
      AND (p_max_session_plays IS NULL OR plays < p_max_session_plays + shares);
  SET v_taken = ROW_COUNT() = 1;
  IF v_taken THEN
    UPDATE ${T.userCounters} SET plays = plays + 1
      WHERE aid = p_aid AND openid = p_openid AND (p_max_total_plays IS NULL OR plays < p_max_total_plays);
    IF ROW_COUNT() <> 1 THEN
      SET v_taken = 0;
      UPDATE ${T.sessionCounters} SET plays = plays - 1, wins = wins - v_win WHERE aid = p_aid AND openid = p_openid AND session = p_session;
    END IF;
  END IF;
  IF NOT v_taken THEN
    -- Nothing was taken; a user who has won their share hears so, anyone else is out of plays.
    SELECT wins INTO v_wins FROM ${T.sessionCounters} WHERE aid = p_aid AND openid = p_openid AND session = p_session;
    IF IFNULL(v_wins, 0) >= p_max_wins THEN
      SET v_outcome = 'have_award', v_response = p_have_award;
    ELSE
      SET v_outcome = 'no_times', v_response = p_no_times;
    END IF;
  ELSEIF p_prize_id IS NULL THEN
    SET v_outcome = 'no_award', v_response = p_result;
  ELSEIF p_known_exhausted THEN
    SET v_outcome = 'stock_gone', v_response = p_result;
  ELSE
    SET v_outcome = 'win', v_response = p_result, v_paid = p_cents;
    INSERT INTO ${T.personPrize} (aid, pid, openid, prize_id, prize_name, prize_type, money, secret, status, session, create_time, claim_time)
      VALUES (p_aid, p_pid, p_openid, p_prize_id, p_prize_name, p_prize_type, p_money, p_secret, IF(p_claimed, 1, 2), p_session, p_now, IF(p_claimed, p_now, 0));
  END IF;
  BEGIN
    DECLARE CONTINUE HANDLER FOR 1062 SET v_replayed = 1;
    INSERT INTO ${T.drawLog} (aid, openid, request_id, session, slot, prize_version, pool_key, prize_id, outcome, paid_cents, response, create_time)
      VALUES (p_aid, p_openid, p_request_id, p_session, p_slot, p_prize_version, p_pool_key, p_prize_id, v_outcome, v_paid, v_response, p_now);
  END;
  IF v_replayed THEN
    ROLLBACK;
    SELECT 'replayed' AS outcome, NULL AS log_id;
    LEAVE draw;
  END IF;
  SET v_log_id = LAST_INSERT_ID();
  IF v_outcome = 'win' THEN
    UPDATE ${T.stock} SET won = won + 1, paid_cents = paid_cents + p_cents
      WHERE aid = p_aid AND prize_id = p_prize_id
        AND IF(p_claim_kind = 'count', won < p_claim_sum, paid_cents + p_cents <= p_claim_money);
    IF ROW_COUNT() <> 1 THEN
      ROLLBACK;
      SELECT 'short' AS outcome, NULL AS log_id;
      LEAVE draw;
    END IF;
  END IF;
  COMMIT;
  SELECT v_outcome AS outcome, v_log_id AS log_id;
END`;

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
  procedureMigration('20261122000520_create_lottery_draw_procedure', { [DRAW_PROCEDURE]: drawProcedure }),
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
];
