import { exactTextMigration, procedureMigration, type Migration } from '../platform/db.js';

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
 * MySQL only: ChangePoints, ExchangePrize and SendPrize as one round trip each. The statements
 * and checks are those of the SQLite path in store.ts (creditIn, debitIn, exchange), in the
 * same order: the account row first, which serializes the user's transactions; then plain
 * (snapshot) reads of the user's lots, which take no range locks; the change record; the lots
 * by primary key with conditional updates; the draws, stock and exchange row. All of it commits
 * together or rolls back together. A unique violation (a replayed request id, an exchange
 * limit) rolls back and surfaces as the original ER_DUP_ENTRY, as the SQLite path raises it.
 * Each answers one row: outcome ('ok', 'recorded', 'limit_reached', 'insufficient', 'sold_out' or
 * 'lot_conflict'), the
 * change record's id and balance_after, and the exchange row's id.
 */
export const CREDIT_PROCEDURE = 'points_credit';
export const DEBIT_PROCEDURE = 'points_debit';

const CHANGE_PARAMS = `IN p_open_id VARCHAR(128), IN p_amount BIGINT, IN p_now BIGINT, IN p_source VARCHAR(16),
  IN p_change_id VARCHAR(64), IN p_description VARCHAR(1024), IN p_prize_type VARCHAR(16), IN p_task_title VARCHAR(128),
  IN p_request_id VARCHAR(64), IN p_request_hash VARCHAR(64), IN p_dedupe_key VARCHAR(128)`;

const UNEXPIRED = `open_id = p_open_id AND remaining > 0 AND (expires_at IS NULL OR expires_at > p_now)`;

function insertChange(direction: 1 | 2, balanceAfter: string, expiresAt: string): string {
  return `INSERT INTO ${T.changes} (open_id, direction, source, face_value, balance_after, description, change_id,
      prize_type, task_title, created_at, expires_at, request_id, request_hash, dedupe_key)
    VALUES (p_open_id, ${direction}, p_source, p_amount, ${balanceAfter}, p_description, p_change_id,
      p_prize_type, p_task_title, p_now, ${expiresAt}, p_request_id, p_request_hash, p_dedupe_key);`;
}

const creditProcedure = `
CREATE PROCEDURE ${CREDIT_PROCEDURE}(${CHANGE_PARAMS}, IN p_expires_at BIGINT)
MODIFIES SQL DATA
BEGIN
  DECLARE v_before BIGINT;
  DECLARE v_id BIGINT;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
  -- The account row is created outside the transaction, as ensureAccount does: inserting it
  -- after an UPDATE that found nothing would take gap locks.
  INSERT IGNORE INTO ${T.accounts} (open_id, balance, updated_at) VALUES (p_open_id, 0, p_now);
  START TRANSACTION;
  UPDATE ${T.accounts} SET balance = balance + p_amount, updated_at = p_now WHERE open_id = p_open_id;
  SELECT IFNULL(SUM(remaining), 0) INTO v_before FROM ${T.lots} WHERE ${UNEXPIRED};
  ${insertChange(1, 'v_before + p_amount', 'p_expires_at')}
  SET v_id = LAST_INSERT_ID();
  INSERT INTO ${T.lots} (open_id, source, record_id, granted_at, expires_at, amount, remaining)
    VALUES (p_open_id, p_source, v_id, p_now, p_expires_at, p_amount, p_amount);
  COMMIT;
  SELECT 'ok' AS outcome, v_id AS id, v_before + p_amount AS balance_after, NULL AS exchange_id;
END`;

const debitProcedure = `
CREATE PROCEDURE ${DEBIT_PROCEDURE}(${CHANGE_PARAMS},
  IN p_prize_id VARCHAR(64), IN p_period_key VARCHAR(16), IN p_title VARCHAR(128), IN p_icon VARCHAR(1024),
  IN p_type VARCHAR(16), IN p_address VARCHAR(512), IN p_user_name VARCHAR(64), IN p_tel VARCHAR(32))
MODIFIES SQL DATA
debit: BEGIN
  DECLARE v_available BIGINT;
  DECLARE v_id BIGINT;
  DECLARE v_left BIGINT DEFAULT p_amount;
  DECLARE v_lot BIGINT;
  DECLARE v_remaining BIGINT;
  DECLARE v_take BIGINT;
  DECLARE v_done TINYINT DEFAULT 0;
  -- Soonest-expiring first, then the lots that never expire, oldest first.
  DECLARE lots CURSOR FOR SELECT id, remaining FROM ${T.lots} WHERE ${UNEXPIRED}
    ORDER BY CASE WHEN expires_at IS NULL THEN 1 ELSE 0 END, expires_at, id;
  DECLARE CONTINUE HANDLER FOR NOT FOUND SET v_done = 1;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
  -- A request already recorded is answered from its record, even when the balance has since
  -- run short; one recorded concurrently is caught by the unique key instead.
  IF p_request_id IS NOT NULL AND EXISTS (SELECT 1 FROM ${T.changes} WHERE open_id = p_open_id AND request_id = p_request_id) THEN
    SELECT 'recorded' AS outcome, NULL AS id, NULL AS balance_after, NULL AS exchange_id;
    LEAVE debit;
  END IF;
  -- The exchange limit, before any work (its unique key still decides under a race).
  IF p_prize_id IS NOT NULL AND EXISTS (SELECT 1 FROM ${T.exchanges}
      WHERE open_id = p_open_id AND prize_id = p_prize_id AND period_key = p_period_key) THEN
    SELECT 'limit_reached' AS outcome, NULL AS id, NULL AS balance_after, NULL AS exchange_id;
    LEAVE debit;
  END IF;
  START TRANSACTION;
  UPDATE ${T.accounts} SET balance = balance - p_amount, updated_at = p_now WHERE open_id = p_open_id AND balance >= p_amount;
  IF ROW_COUNT() <> 1 THEN
    ROLLBACK;
    SELECT 'insufficient' AS outcome, NULL AS id, NULL AS balance_after, NULL AS exchange_id;
    LEAVE debit;
  END IF;
  SELECT IFNULL(SUM(remaining), 0) INTO v_available FROM ${T.lots} WHERE ${UNEXPIRED};
  IF v_available < p_amount THEN
    ROLLBACK;
    SELECT 'insufficient' AS outcome, NULL AS id, NULL AS balance_after, NULL AS exchange_id;
    LEAVE debit;
  END IF;
  ${insertChange(2, 'v_available - p_amount', 'NULL')}
  SET v_id = LAST_INSERT_ID();
  OPEN lots;
  draw: LOOP
    FETCH lots INTO v_lot, v_remaining;
    IF v_done OR v_left = 0 THEN LEAVE draw; END IF;
    SET v_take = LEAST(v_remaining, v_left);
    UPDATE ${T.lots} SET remaining = remaining - v_take WHERE id = v_lot AND remaining >= v_take;
    IF ROW_COUNT() <> 1 THEN
      CLOSE lots;
      ROLLBACK;
      SELECT 'lot_conflict' AS outcome, NULL AS id, NULL AS balance_after, NULL AS exchange_id;
      LEAVE debit;
    END IF;
    INSERT INTO ${T.draws} (record_id, lot_id, amount) VALUES (v_id, v_lot, v_take);
    SET v_left = v_left - v_take;
  END LOOP;
  CLOSE lots;
  IF v_left > 0 THEN
    ROLLBACK;
    SELECT 'lot_conflict' AS outcome, NULL AS id, NULL AS balance_after, NULL AS exchange_id;
    LEAVE debit;
  END IF;
  IF p_prize_id IS NOT NULL THEN
    UPDATE ${T.prizes} SET stock = stock - 1 WHERE prize_id = p_prize_id AND stock > 0;
    IF ROW_COUNT() <> 1 THEN
      ROLLBACK;
      SELECT 'sold_out' AS outcome, NULL AS id, NULL AS balance_after, NULL AS exchange_id;
      LEAVE debit;
    END IF;
    INSERT INTO ${T.exchanges} (open_id, prize_id, request_id, request_hash, record_id, period_key, title, icon, face_value,
        type, address, user_name, tel, created_at)
      VALUES (p_open_id, p_prize_id, p_request_id, p_request_hash, v_id, p_period_key, p_title, p_icon, p_amount,
        p_type, p_address, p_user_name, p_tel, p_now);
  END IF;
  COMMIT;
  SELECT 'ok' AS outcome, v_id AS id, v_available - p_amount AS balance_after,
    IF(p_prize_id IS NULL, NULL, LAST_INSERT_ID()) AS exchange_id;
END`;

// Times are epoch milliseconds; amounts are BIGINT points.
export const migrations: readonly Migration[] = [
  {
    name: '20261122010000_create_points_ledger',
    async up(knex) {
      // One row per user, updated first in every transaction that moves the user's points:
      // it serializes them in the database and holds the sum of the change records.
      await knex.schema.createTable(T.accounts, (t) => {
        t.string('open_id', 128).primary();
        t.bigInteger('balance').notNullable();
        t.bigInteger('updated_at').notNullable();
      });
      await knex.schema.createTable(T.changes, (t) => {
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
      });
      await knex.schema.createTable(T.lots, (t) => {
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
      });
      await knex.schema.createTable(T.draws, (t) => {
        t.bigInteger('record_id').notNullable();
        t.bigInteger('lot_id').notNullable();
        t.bigInteger('amount').notNullable();
        t.primary(['record_id', 'lot_id']);
      });
    },
    async down(knex) {
      for (const table of [T.draws, T.lots, T.changes, T.accounts]) await knex.schema.dropTable(table);
    },
  },
  {
    name: '20261122010100_create_points_catalogue',
    async up(knex) {
      await knex.schema.createTable(T.prizes, (t) => {
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
      });
      await knex.schema.createTable(T.exchanges, (t) => {
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
      });
      await knex.schema.createTable(T.tasks, (t) => {
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
      });
      // Seed table 6; status keeps the seed's canonical 0 to-claim, 1 in progress, 2 done.
      await knex.schema.createTable(T.userTasks, (t) => {
        t.string('open_id', 128).notNullable();
        t.string('task_id', 64).notNullable();
        t.string('cycle_key', 16).notNullable();
        t.tinyint('status').notNullable();
        t.bigInteger('complete_num').notNullable();
        t.bigInteger('updated_at').notNullable();
        t.primary(['open_id', 'task_id']);
        t.index(['task_id', 'cycle_key']);
      });
      await knex.schema.createTable(T.rules, (t) => {
        t.integer('id').primary();
        t.text('rule_detail').notNullable();
        t.text('source_expiries').notNullable();
        t.bigInteger('updated_at').notNullable();
      });
      await knex.schema.createTable(T.jobRuns, (t) => {
        t.string('run_date', 10).primary();
        t.boolean('expire_done').notNullable();
        t.boolean('tasks_done').notNullable();
        t.bigInteger('expired_lots').notNullable();
        t.bigInteger('expired_points').notNullable();
        t.bigInteger('reset_tasks').notNullable();
        t.bigInteger('started_at').notNullable();
        t.bigInteger('finished_at').nullable();
      });
    },
    async down(knex) {
      for (const table of [T.jobRuns, T.rules, T.userTasks, T.tasks, T.exchanges, T.prizes]) await knex.schema.dropTable(table);
    },
  },
  procedureMigration('20261122010200_create_points_procedures', { [CREDIT_PROCEDURE]: creditProcedure, [DEBIT_PROCEDURE]: debitProcedure }),
  exactTextMigration('20261202010210_points_exact_text', Object.values(T)),
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
  {
    name: '20261202070100_index_points_lots_expiry',
    async up(knex) {
      // (expires_at, id): the daily job walks the due lots in this order, chunk after chunk from
      // where the last one stopped. (expires_at, remaining) orders by remaining within a time.
      await knex.schema.alterTable(T.lots, (t) => {
        t.index(['expires_at'], 'points_lots_expiry_walk');
      });
    },
    async down(knex) {
      await knex.schema.alterTable(T.lots, (t) => {
        t.dropIndex(['expires_at'], 'points_lots_expiry_walk');
      });
    },
  },
];
