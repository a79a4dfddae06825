-- A claim's writes (MySQL only) as one round trip, with the statements and checks of the SQLite
-- path in ../store.ts (grantUnits) in the same order: the nonce (inserted, or re-taken when
-- expired; 'replayed' when live); each unit's person slot (count < limit) and entitlements; then
-- each slotted unit's quota (granted < quota), and where the quota is gone that unit's
-- entitlements deleted and its slot given back. p_units is a JSON array of {unit, limit,
-- products: [{activityId, productUri, startAt, endAt, activateType, grantedAt}]}. Answers one
-- row: outcome and the units' codes as a JSON array (0, 14005 person limit, 14004 quota gone:
-- UNIT_CODE in ../rules.ts).
-- Without p_claim it runs inside the caller's transaction (outcome 'ok'). With p_claim (the
-- claim row as JSON) it is the whole transaction and commits inside the call; if any unit did
-- not grant, or p_activity_id blocks the identity, it rolls back and answers 'deviated'.
-- Parameters are declared once, in ../routines.ts. Changing this file: docs/adding-an-area.md.
CREATE PROCEDURE grant_units(IN p_activity_id VARCHAR(32), IN p_app_id VARCHAR(36), IN p_nonce VARCHAR(128), IN p_now BIGINT,
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
    IF EXISTS (SELECT 1 FROM grant_blocked_identities WHERE activity_id = p_activity_id AND identity = p_identity) THEN
      ROLLBACK;
      SELECT 'deviated' AS outcome, v_codes AS codes;
      LEAVE grant_units;
    END IF;
  END IF;
  IF p_nonce IS NOT NULL THEN
    BEGIN
      DECLARE CONTINUE HANDLER FOR 1062 SET v_taken = 0;
      INSERT INTO grant_nonces (app_id, nonce, created_at) VALUES (p_app_id, p_nonce, p_now);
    END;
    -- A plain read first: a live nonce is a replay without taking any lock.
    IF NOT v_taken AND IFNULL((SELECT created_at FROM grant_nonces WHERE app_id = p_app_id AND nonce = p_nonce), p_expired_before) < p_expired_before THEN
      UPDATE grant_nonces SET created_at = p_now WHERE app_id = p_app_id AND nonce = p_nonce AND created_at < p_expired_before;
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
    INSERT IGNORE INTO grant_person_counts (sub_activity_id, identity, count) VALUES (v_unit, p_identity, 0);
    UPDATE grant_person_counts SET count = count + 1
      WHERE sub_activity_id = v_unit AND identity = p_identity AND count < CAST(JSON_EXTRACT(p_units, CONCAT('$[', v_i, '].limit')) AS SIGNED);
    IF ROW_COUNT() <> 1 THEN
      SET v_codes = JSON_ARRAY_APPEND(v_codes, '$', 14005);
    ELSE
      SET v_codes = JSON_ARRAY_APPEND(v_codes, '$', 0);
      SET v_products = JSON_EXTRACT(p_units, CONCAT('$[', v_i, '].products'));
      SET v_j = 0;
      WHILE v_j < JSON_LENGTH(v_products) DO
        SET v_product = JSON_EXTRACT(v_products, CONCAT('$[', v_j, ']'));
        INSERT INTO grant_entitlements (identity, claim_id, activity_id, sub_activity_id, product_uri, start_at, end_at, activate_type, granted_at)
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
    INSERT INTO grant_claims (id, app_id, identity, activity_label, request, status, result_code, outcome, attempts,
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
      UPDATE grant_sub_activities SET granted = granted + 1 WHERE id = v_unit AND granted < quota;
      IF ROW_COUNT() <> 1 THEN
        DELETE FROM grant_entitlements WHERE claim_id = p_claim_id AND sub_activity_id = v_unit;
        UPDATE grant_person_counts SET count = count - 1 WHERE sub_activity_id = v_unit AND identity = p_identity AND count > 0;
        SET v_codes = JSON_SET(v_codes, CONCAT('$[', v_i, ']'), 14004);
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
END
