-- ChangePoints' credit (MySQL only) as one round trip, with the statements and checks of the
-- SQLite path in ../store.ts (creditIn) in the same order: the account row first, which
-- serializes the user's transactions; a refusal stored under the request id (points_debit's,
-- issue 16.1: the id's answer stays that refusal); a plain (snapshot) read of the user's lots;
-- the change record and its lot. Answers one row: outcome 'ok', the change record's id and
-- balance_after, or 'recorded' for a request id already refused. Request ids are unique per
-- owner (platform/owner.ts). A replayed request id rolls back and surfaces as the original
-- ER_DUP_ENTRY.
-- Parameters are declared once, in ../routines.ts. Changing this file: docs/adding-an-area.md.
CREATE PROCEDURE points_credit(IN p_owner VARCHAR(80), IN p_open_id VARCHAR(128), IN p_amount BIGINT, IN p_now BIGINT, IN p_source VARCHAR(16),
  IN p_change_id VARCHAR(64), IN p_description VARCHAR(1024), IN p_prize_type VARCHAR(16), IN p_task_title VARCHAR(128),
  IN p_request_id VARCHAR(64), IN p_request_hash VARCHAR(64), IN p_dedupe_key VARCHAR(128), IN p_expires_at BIGINT)
MODIFIES SQL DATA
credit: BEGIN
  DECLARE v_before BIGINT;
  DECLARE v_id BIGINT;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
  -- The account row is created outside the transaction, as ensureAccount does: inserting it
  -- after an UPDATE that found nothing would take gap locks.
  INSERT IGNORE INTO points_accounts (open_id, balance, updated_at) VALUES (p_open_id, 0, p_now);
  START TRANSACTION;
  UPDATE points_accounts SET balance = balance + p_amount, updated_at = p_now WHERE open_id = p_open_id;
  IF p_request_id IS NOT NULL AND EXISTS (SELECT 1 FROM points_refusals WHERE owner = p_owner AND open_id = p_open_id AND request_id = p_request_id) THEN
    ROLLBACK;
    SELECT 'recorded' AS outcome, NULL AS id, NULL AS balance_after, NULL AS exchange_id;
    LEAVE credit;
  END IF;
  SELECT IFNULL(SUM(remaining), 0) INTO v_before FROM points_lots WHERE open_id = p_open_id AND remaining > 0 AND (expires_at IS NULL OR expires_at > p_now);
  INSERT INTO points_changes (owner, open_id, direction, source, face_value, balance_after, description, change_id,
      prize_type, task_title, created_at, expires_at, request_id, request_hash, dedupe_key)
    VALUES (p_owner, p_open_id, 1, p_source, p_amount, v_before + p_amount, p_description, p_change_id,
      p_prize_type, p_task_title, p_now, p_expires_at, p_request_id, p_request_hash, p_dedupe_key);
  SET v_id = LAST_INSERT_ID();
  INSERT INTO points_lots (open_id, source, record_id, granted_at, expires_at, amount, remaining)
    VALUES (p_open_id, p_source, v_id, p_now, p_expires_at, p_amount, p_amount);
  COMMIT;
  SELECT 'ok' AS outcome, v_id AS id, v_before + p_amount AS balance_after, NULL AS exchange_id;
END
