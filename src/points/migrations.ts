import { isMysql, type Migration } from '../platform/db.js';
import { LEGACY_OWNER, OWNER_WIDTH } from '../platform/owner.js';
import { releasedRoutineMigration, routineMigration } from '../platform/routines.js';
import { createTablesMigration, exactTextMigration, keyOwnersMigration, keysMigration, plainIndex, uniqueKey } from '../platform/schema.js';
import { CREDIT, DEBIT } from './routines.js';

export const T = {
  accounts: 'points_accounts',
  lots: 'points_lots',
  changes: 'points_changes',
  draws: 'points_draws',
  prizes: 'points_prizes',
  exchanges: 'points_exchanges',
  tasks: 'points_tasks',
  userTasks: 'points_user_tasks',
  rules: 'points_rules',
  jobRuns: 'points_job_runs',
} as const;

/**
 * Refusals stored as their request id's final answer (issue 16.1). Kept out of T: the released
 * migration 20261202010210_points_exact_text converts every table of T, and must keep doing
 * only what it did (this table did not exist then).
 */
export const REFUSALS = 'points_refusals';

// Times are epoch milliseconds; amounts are BIGINT points.
export const migrations: readonly Migration[] = [
  createTablesMigration('20261122010000_create_points_ledger', {
    // One row per user, updated first in every transaction that moves the user's points:
    // it serializes them in the database and holds the sum of the change records.
    [T.accounts]: (t) => {
      t.string('open_id', 128).primary();
      t.bigInteger('balance').notNullable();
      t.bigInteger('updated_at').notNullable();
    },
    [T.changes]: (t) => {
      t.bigIncrements('id').primary();
      t.string('open_id', 128).notNullable();
      t.tinyint('direction').notNullable();
      t.string('source', 16).notNullable();
      t.bigInteger('face_value').notNullable();
      t.bigInteger('balance_after').notNullable();
      t.string('description', 1024).notNullable();
      t.string('change_id', 64).notNullable();
      t.string('prize_type', 16).notNullable();
      t.string('task_title', 128).notNullable();
      t.bigInteger('created_at').notNullable();
      t.bigInteger('expires_at').nullable();
      t.string('request_id', 64).nullable();
      t.string('request_hash', 64).nullable();
      // Once-only effects: "task:<id>:<cycle>", "expire:<lot id>".
      t.string('dedupe_key', 128).nullable();
      t.unique(['open_id', 'request_id']);
      t.unique(['open_id', 'dedupe_key']);
      t.index(['open_id', 'id']);
    },
    [T.lots]: (t) => {
      t.bigIncrements('id').primary();
      t.string('open_id', 128).notNullable();
      t.string('source', 16).notNullable();
      t.bigInteger('record_id').notNullable();
      t.bigInteger('granted_at').notNullable();
      t.bigInteger('expires_at').nullable();
      t.bigInteger('amount').notNullable();
      t.bigInteger('remaining').notNullable();
      // Covers the balance query (sum of remaining by expiry for one user).
      t.index(['open_id', 'expires_at', 'remaining']);
      t.index(['expires_at', 'remaining']);
    },
    [T.draws]: (t) => {
      t.bigInteger('record_id').notNullable();
      t.bigInteger('lot_id').notNullable();
      t.bigInteger('amount').notNullable();
      t.primary(['record_id', 'lot_id']);
    },
  }),
  createTablesMigration('20261122010100_create_points_catalogue', {
    [T.prizes]: (t) => {
      t.string('prize_id', 64).primary();
      t.bigInteger('face_value').notNullable();
      t.string('title', 128).notNullable();
      t.string('description', 1024).notNullable();
      t.string('icon', 1024).notNullable();
      t.bigInteger('total').notNullable();
      t.bigInteger('stock').notNullable();
      t.string('type', 16).notNullable();
      t.string('exchange_limit', 8).notNullable();
      t.boolean('disabled').notNullable();
      t.bigInteger('created_at').notNullable();
      t.bigInteger('updated_at').notNullable();
    },
    [T.exchanges]: (t) => {
      t.bigIncrements('id').primary();
      t.string('open_id', 128).notNullable();
      t.string('prize_id', 64).notNullable();
      t.string('request_id', 64).notNullable();
      t.string('request_hash', 64).notNullable();
      t.bigInteger('record_id').notNullable();
      // The exchange limit as a unique key: one row per user, prize and period.
      t.string('period_key', 16).notNullable();
      t.string('title', 128).notNullable();
      t.string('icon', 1024).notNullable();
      t.bigInteger('face_value').notNullable();
      t.string('type', 16).notNullable();
      t.string('address', 512).notNullable();
      t.string('user_name', 64).notNullable();
      t.string('tel', 32).notNullable();
      t.bigInteger('created_at').notNullable();
      t.unique(['open_id', 'prize_id', 'period_key']);
      t.unique(['open_id', 'request_id']);
      t.unique(['record_id']);
    },
    [T.tasks]: (t) => {
      t.string('task_id', 64).primary();
      t.string('type', 16).notNullable();
      t.string('cycle_title', 64).notNullable();
      t.string('cycle_type', 16).notNullable();
      t.integer('cycle_day').notNullable();
      t.string('title', 128).notNullable();
      t.string('description', 1024).notNullable();
      t.string('btn_title', 64).notNullable();
      t.string('btn_type', 16).notNullable();
      t.string('path', 1024).notNullable();
      t.string('img_url', 1024).notNullable();
      t.bigInteger('face_value').notNullable();
      t.bigInteger('total').notNullable();
      t.string('model', 16).notNullable();
      t.bigInteger('created_at').notNullable();
      t.bigInteger('updated_at').notNullable();
    },
    // Seed table 6; status keeps the seed's canonical 0 to-claim, 1 in progress, 2 done.
    [T.userTasks]: (t) => {
      t.string('open_id', 128).notNullable();
      t.string('task_id', 64).notNullable();
      t.string('cycle_key', 16).notNullable();
      t.tinyint('status').notNullable();
      t.bigInteger('complete_num').notNullable();
      t.bigInteger('updated_at').notNullable();
      t.primary(['open_id', 'task_id']);
      t.index(['task_id', 'cycle_key']);
    },
    [T.rules]: (t) => {
      t.integer('id').primary();
      t.text('rule_detail').notNullable();
      t.text('source_expiries').notNullable();
      t.bigInteger('updated_at').notNullable();
    },
    [T.jobRuns]: (t) => {
      t.string('run_date', 10).primary();
      t.boolean('expire_done').notNullable();
      t.boolean('tasks_done').notNullable();
      t.bigInteger('expired_lots').notNullable();
      t.bigInteger('expired_points').notNullable();
      t.bigInteger('reset_tasks').notNullable();
      t.bigInteger('started_at').notNullable();
      t.bigInteger('finished_at').nullable();
    },
  }),
  releasedRoutineMigration('20261122010200_create_points_procedures', [
    new URL('./sql/released/20261122010200_points_credit.sql', import.meta.url),
    new URL('./sql/released/20261122010200_points_debit.sql', import.meta.url),
  ]),
  exactTextMigration('20261202010210_points_exact_text', Object.values(T)),
  routineMigration('20261202070000_recreate_points_routines', [CREDIT, DEBIT]),
  {
    name: '20261202070000_add_points_job_duration',
    async up(knex) {
      // Time spent working on the day, summed over the calls that did (a run may be resumed).
      await knex.schema.alterTable(T.jobRuns, (t) => {
        t.bigInteger('duration_ms').nullable();
      });
    },
    async down(knex) {
      await knex.schema.alterTable(T.jobRuns, (t) => {
        t.dropColumn('duration_ms');
      });
    },
  },
  // (expires_at, id): the daily job walks the due lots in this order, chunk after chunk from
  // where the last one stopped. (expires_at, remaining) orders by remaining within a time.
  keysMigration('20261202070100_index_points_lots_expiry', [{ table: T.lots, add: [plainIndex(['expires_at'], 'points_lots_expiry_walk')] }]),
  // Request ids belong to an owner (platform/owner.ts): the calling app. Rows from before, and
  // rows without a request id (the daily job's expiry records), are LEGACY_OWNER.
  keyOwnersMigration(
    '20261203010000_add_points_key_owners',
    [
      { table: T.changes, drop: [uniqueKey(['open_id', 'request_id'])], add: [uniqueKey(['owner', 'open_id', 'request_id'], 'points_changes_owner_open_id_request_id')] },
      { table: T.exchanges, drop: [uniqueKey(['open_id', 'request_id'])], add: [uniqueKey(['owner', 'open_id', 'request_id'], 'points_exchanges_owner_open_id_request_id')] },
    ],
    // Keys two owners share cannot go back to one unique key: the keys of owners other than
    // LEGACY_OWNER are given up (their records stay, as the users' ledgers; their replays are lost).
    async (knex) => {
      await knex(T.changes).whereNot('owner', LEGACY_OWNER).update({ request_id: null });
      const dropped = isMysql(knex) ? "CONCAT('dropped:', id)" : "'dropped:' || id";
      await knex(T.exchanges).whereNot('owner', LEGACY_OWNER).update({ request_id: knex.raw(dropped) });
    },
  ),
  // points_credit and points_debit with the owner of the request id.
  routineMigration('20261203010100_recreate_points_routines', [CREDIT, DEBIT]),
  // A refused debit, exchange or sent prize: the request id's final answer, so that a stale
  // copy of the request never pays later (issue 16.1). Under the same (owner, open_id,
  // request_id) as a change record; a request id has one or the other, never both.
  createTablesMigration('20261203020000_create_points_refusals', {
    [REFUSALS]: (t) => {
      t.string('owner', OWNER_WIDTH).notNullable();
      t.string('open_id', 128).notNullable();
      t.string('request_id', 64).notNullable();
      t.string('request_hash', 64).notNullable();
      // insufficient, sold_out, limit_reached, unavailable.
      t.string('reason', 16).notNullable();
      // What the refusal said: the points asked for, the exchange limit's period.
      t.bigInteger('face_value').notNullable();
      t.string('period_key', 16).notNullable();
      t.bigInteger('created_at').notNullable();
      t.primary(['owner', 'open_id', 'request_id']);
    },
  }),
  exactTextMigration('20261203020010_points_refusals_exact_text', [REFUSALS]),
  // points_debit stores its refusals; both routines answer a request id refused before as recorded.
  routineMigration('20261203020100_recreate_points_routines_refusals', [CREDIT, DEBIT]),
  // (type, id): the export of exchanges to ship walks the goods in id order, page after page
  // from where the last one stopped, without reading the other types' rows.
  keysMigration('20261207120000_index_points_exchanges_ship_walk', [{ table: T.exchanges, add: [plainIndex(['type', 'id'], 'points_exchanges_ship_walk')] }]),
];
