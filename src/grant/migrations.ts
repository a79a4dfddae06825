import { exactTextMigration, procedureMigration, type Migration } from '../platform/db.js';
import { UNIT_CODE } from './rules.js';

export const T = {
  activities: 'grant_activities',
  blocked: 'grant_blocked_identities',
  units: 'grant_sub_activities',
  personCounts: 'grant_person_counts',
  entitlements: 'grant_entitlements',
  nonces: 'grant_nonces',
  claims: 'grant_claims',
} as const;

/**
 * MySQL only: a claim's writes as one round trip. The statements and checks are those of the
 * SQLite path in store.ts (grantUnits), in the same order: the nonce (inserted, or re-taken when
 * expired; `replayed` when live); then each unit's person slot (`count < limit`) and
 * entitlements; then each slotted unit's quota (`granted < quota`), and where the quota is gone
 * that unit's entitlements deleted and its slot given back. The quotas, the rows every claim of
 * a unit contends for, come last so they are held for the shortest time. `p_units` is a JSON
 * array of `{unit, limit, products: [{activityId, productUri, startAt, endAt, activateType,
 * grantedAt}]}`; `p_now` is the nonce's time. Answers one row: outcome and the units' codes as
 * a JSON array (0, PERSON_LIMIT or QUOTA_EXHAUSTED).
 *
 * Numbers are read out of the JSON with CAST(... AS SIGNED), which MariaDB and MySQL 8 read alike.
 *
 * Without `p_claim` it runs inside the caller's transaction (outcome `ok`). With `p_claim` (the
 * claim row as JSON, its outcome written as if every unit granted) it is the whole transaction:
 * the claim row goes in before the quotas and COMMIT follows them inside the call, so a hot
 * unit's quota row is held for microseconds; if any unit did not grant, or `p_activity_id`
 * blocks the identity, everything rolls back and the outcome is `deviated` (the caller then runs
 * the claim the long way).
 */
export const GRANT_UNITS_PROCEDURE = 'grant_units';
const grantUnitsProcedure = `
CREATE PROCEDURE ${GRANT_UNITS_PROCEDURE}(IN p_activity_id VARCHAR(32), IN p_app_id VARCHAR(36), IN p_nonce VARCHAR(128), IN p_now BIGINT,
  IN p_expired_before BIGINT, IN p_identity VARCHAR(128), IN p_claim_id VARCHAR(32), IN p_units LONGTEXT, IN p_claim LONGTEXT)
MODIFIES SQL DATA
grant_units: BEGIN
  DECLARE v_taken TINYINT DEFAULT 1;
  DECLARE v_i INT DEFAULT 0;
  DECLARE v_j INT;
  DECLARE v_n INT DEFAULT JSON_LENGTH(p_units);
  DECLARE v_unit VARCHAR(32);
  DECLARE v_products LONGTEXT;
  DECLARE v_product LONGTEXT;
  DECLARE v_codes LONGTEXT DEFAULT '[]';
  DECLARE v_deviated TINYINT DEFAULT 0;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN IF p_claim IS NOT NULL THEN ROLLBACK; END IF; RESIGNAL; END;
  IF p_claim IS NOT NULL THEN
    START TRANSACTION;
    IF EXISTS (SELECT 1 FROM ${T.blocked} WHERE activity_id = p_activity_id AND identity = p_identity) THEN
      ROLLBACK;
      SELECT 'deviated' AS outcome, v_codes AS codes;
      LEAVE grant_units;
    END IF;
  END IF;
  IF p_nonce IS NOT NULL THEN
    BEGIN
      DECLARE CONTINUE HANDLER FOR 1062 SET v_taken = 0;
      INSERT INTO ${T.nonces} (app_id, nonce, created_at) VALUES (p_app_id, p_nonce, p_now);
    END;
    -- A plain read first: a live nonce is a replay without taking any lock.
    IF NOT v_taken AND IFNULL((SELECT created_at FROM ${T.nonces} WHERE app_id = p_app_id AND nonce = p_nonce), p_expired_before) < p_expired_before THEN
      UPDATE ${T.nonces} SET created_at = p_now WHERE app_id = p_app_id AND nonce = p_nonce AND created_at < p_expired_before;
      SET v_taken = ROW_COUNT() = 1;
    END IF;
    IF NOT v_taken THEN
      IF p_claim IS NOT NULL THEN ROLLBACK; END IF;
      SELECT 'replayed' AS outcome, NULL AS codes;
      LEAVE grant_units;
    END IF;
  END IF;
  WHILE v_i < v_n DO
    SET v_unit = JSON_UNQUOTE(JSON_EXTRACT(p_units, CONCAT('$[', v_i, '].unit')));
    INSERT IGNORE INTO ${T.personCounts} (sub_activity_id, identity, count) VALUES (v_unit, p_identity, 0);
    UPDATE ${T.personCounts} SET count = count + 1
      WHERE sub_activity_id = v_unit AND identity = p_identity AND count < CAST(JSON_EXTRACT(p_units, CONCAT('$[', v_i, '].limit')) AS SIGNED);
    IF ROW_COUNT() <> 1 THEN
      SET v_codes = JSON_ARRAY_APPEND(v_codes, '$', ${UNIT_CODE.PERSON_LIMIT});
    ELSE
      SET v_codes = JSON_ARRAY_APPEND(v_codes, '$', 0);
      SET v_products = JSON_EXTRACT(p_units, CONCAT('$[', v_i, '].products'));
      SET v_j = 0;
      WHILE v_j < JSON_LENGTH(v_products) DO
        SET v_product = JSON_EXTRACT(v_products, CONCAT('$[', v_j, ']'));
        INSERT INTO ${T.entitlements} (identity, claim_id, activity_id, sub_activity_id, product_uri, start_at, end_at, activate_type, granted_at)
          VALUES (p_identity, p_claim_id, JSON_UNQUOTE(JSON_EXTRACT(v_product, '$.activityId')), v_unit,
            JSON_UNQUOTE(JSON_EXTRACT(v_product, '$.productUri')), CAST(JSON_EXTRACT(v_product, '$.startAt') AS SIGNED),
            CAST(JSON_EXTRACT(v_product, '$.endAt') AS SIGNED), CAST(JSON_EXTRACT(v_product, '$.activateType') AS SIGNED),
            CAST(JSON_EXTRACT(v_product, '$.grantedAt') AS SIGNED));
        SET v_j = v_j + 1;
      END WHILE;
    END IF;
    SET v_i = v_i + 1;
  END WHILE;
  IF p_claim IS NOT NULL THEN
    INSERT INTO ${T.claims} (id, app_id, identity, activity_label, request, status, result_code, outcome, attempts,
        lease_owner, lease_until, created_at, completed_at)
      VALUES (p_claim_id, p_app_id, p_identity, JSON_UNQUOTE(JSON_EXTRACT(p_claim, '$.activityLabel')),
        JSON_UNQUOTE(JSON_EXTRACT(p_claim, '$.request')), JSON_UNQUOTE(JSON_EXTRACT(p_claim, '$.status')),
        JSON_UNQUOTE(JSON_EXTRACT(p_claim, '$.resultCode')), JSON_UNQUOTE(JSON_EXTRACT(p_claim, '$.outcome')), 0,
        NULL, 0, CAST(JSON_EXTRACT(p_claim, '$.createdAt') AS SIGNED), CAST(JSON_EXTRACT(p_claim, '$.completedAt') AS SIGNED));
  END IF;
  SET v_i = 0;
  WHILE v_i < v_n DO
    IF CAST(JSON_EXTRACT(v_codes, CONCAT('$[', v_i, ']')) AS SIGNED) = 0 THEN
      SET v_unit = JSON_UNQUOTE(JSON_EXTRACT(p_units, CONCAT('$[', v_i, '].unit')));
      UPDATE ${T.units} SET granted = granted + 1 WHERE id = v_unit AND granted < quota;
      IF ROW_COUNT() <> 1 THEN
        DELETE FROM ${T.entitlements} WHERE claim_id = p_claim_id AND sub_activity_id = v_unit;
        UPDATE ${T.personCounts} SET count = count - 1 WHERE sub_activity_id = v_unit AND identity = p_identity AND count > 0;
        SET v_codes = JSON_SET(v_codes, CONCAT('$[', v_i, ']'), ${UNIT_CODE.QUOTA_EXHAUSTED});
      END IF;
    END IF;
    IF CAST(JSON_EXTRACT(v_codes, CONCAT('$[', v_i, ']')) AS SIGNED) <> 0 THEN SET v_deviated = 1; END IF;
    SET v_i = v_i + 1;
  END WHILE;
  IF p_claim IS NOT NULL THEN
    IF v_deviated THEN
      ROLLBACK;
      SELECT 'deviated' AS outcome, v_codes AS codes;
      LEAVE grant_units;
    END IF;
    COMMIT;
  END IF;
  SELECT 'ok' AS outcome, v_codes AS codes;
END`;

export const migrations: readonly Migration[] = [
  {
    name: '20261122000500_create_grant_activities',
    async up(knex) {
      await knex.schema.createTable(T.activities, (t) => {
        t.string('id', 32).primary();
        t.string('label', 64).notNullable().unique();
        t.string('name', 128).notNullable();
        t.tinyint('enabled').notNullable();
        t.bigInteger('start_at').notNullable();
        t.bigInteger('end_at').notNullable();
        t.bigInteger('created_at').notNullable();
        t.bigInteger('updated_at').notNullable();
      });
      await knex.schema.createTable(T.blocked, (t) => {
        t.string('activity_id', 32).notNullable();
        t.string('identity', 128).notNullable();
        t.primary(['activity_id', 'identity']);
      });
    },
    async down(knex) {
      await knex.schema.dropTable(T.blocked);
      await knex.schema.dropTable(T.activities);
    },
  },
  {
    name: '20261122000501_create_grant_sub_activities',
    async up(knex) {
      await knex.schema.createTable(T.units, (t) => {
        t.string('id', 32).primary();
        t.string('activity_id', 32).notNullable().index();
        t.string('name', 128).notNullable();
        t.tinyint('enabled').notNullable();
        t.bigInteger('start_at').nullable();
        t.bigInteger('end_at').nullable();
        t.bigInteger('quota').notNullable();
        // Grants made; only ever moved by `granted = granted + 1 WHERE granted < quota`.
        t.bigInteger('granted').notNullable().defaultTo(0);
        t.integer('per_person_limit').notNullable();
        // JSON: filter rules and products, rewritten whole on save.
        t.text('filters').notNullable();
        t.text('products').notNullable();
        t.bigInteger('seq').notNullable();
        t.bigInteger('created_at').notNullable();
        t.bigInteger('updated_at').notNullable();
      });
      // Per-(unit, identity) grant counter: `count = count + 1 WHERE count < limit`.
      await knex.schema.createTable(T.personCounts, (t) => {
        t.string('sub_activity_id', 32).notNullable();
        t.string('identity', 128).notNullable();
        t.integer('count').notNullable();
        t.primary(['sub_activity_id', 'identity']);
      });
    },
    async down(knex) {
      await knex.schema.dropTable(T.personCounts);
      await knex.schema.dropTable(T.units);
    },
  },
  {
    name: '20261122000502_create_grant_entitlements',
    async up(knex) {
      await knex.schema.createTable(T.entitlements, (t) => {
        t.bigIncrements('id').primary();
        t.string('identity', 128).notNullable();
        t.string('claim_id', 32).notNullable();
        t.string('activity_id', 32).notNullable();
        t.string('sub_activity_id', 32).notNullable();
        t.string('product_uri', 256).notNullable();
        t.bigInteger('start_at').notNullable();
        t.bigInteger('end_at').notNullable();
        t.tinyint('activate_type').notNullable();
        t.bigInteger('granted_at').notNullable();
        t.index(['identity', 'id']);
        // A claim grants each product of a unit at most once, whatever retries happen.
        t.unique(['claim_id', 'sub_activity_id', 'product_uri']);
      });
    },
    async down(knex) {
      await knex.schema.dropTable(T.entitlements);
    },
  },
  {
    name: '20261122000503_create_grant_claims',
    async up(knex) {
      await knex.schema.createTable(T.nonces, (t) => {
        t.string('app_id', 36).notNullable();
        t.string('nonce', 128).notNullable();
        t.bigInteger('created_at').notNullable().index();
        t.primary(['app_id', 'nonce']);
      });
      await knex.schema.createTable(T.claims, (t) => {
        t.string('id', 32).primary();
        t.string('app_id', 36).notNullable();
        t.string('identity', 128).notNullable();
        t.string('activity_label', 64).notNullable();
        // JSON of the validated request, so the background worker can complete it.
        t.text('request').notNullable();
        t.string('status', 16).notNullable();
        t.string('result_code', 8).nullable();
        // JSON of the outcome, answered verbatim by GetClaim.
        t.text('outcome', 'mediumtext').nullable();
        t.integer('attempts').notNullable().defaultTo(0);
        t.string('lease_owner', 36).nullable();
        // Epoch ms until which lease_owner holds the claim; a crashed owner's lease runs out.
        t.bigInteger('lease_until').notNullable();
        t.bigInteger('created_at').notNullable();
        t.bigInteger('completed_at').nullable();
        t.index(['status', 'lease_until']);
      });
    },
    async down(knex) {
      await knex.schema.dropTable(T.claims);
      await knex.schema.dropTable(T.nonces);
    },
  },
  procedureMigration('20261122000504_create_grant_units_procedure', { [GRANT_UNITS_PROCEDURE]: grantUnitsProcedure }),
  exactTextMigration('20261202000510_grant_exact_text', Object.values(T)),
];
