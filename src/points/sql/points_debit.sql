-- ChangePoints' debit, ExchangePrize and SendPrize (MySQL only) as one round trip, with the
-- statements and checks of the SQLite path in ../store.ts (debit, debitIn, exchange, refusing,
-- refuse) in the same order: the request id's answer (a change record or a stored refusal) and
-- the exchange limit first; the account row, which serializes the user's transactions, then a
-- refusal stored meanwhile; plain (snapshot) reads of the user's lots, which take no range
-- locks; the change record; the lots by primary key with conditional updates; the draws, stock
-- and exchange row. All of it commits together or rolls back together. Request ids are unique
-- per owner (platform/owner.ts).
-- A refusal (insufficient, sold_out, limit_reached) rolls back, and is then stored in
-- points_refusals as the request id's final answer (issue 16.1: a stale copy of the request must
-- not pay once points or stock arrive), in a transaction of its own that holds the account row,
-- as every writer of a change record does: a change record of the request id committed first
-- makes it 'recorded' instead, and a debit waiting for the row sees the refusal once it has it.
-- Answers one row: outcome ('ok', 'recorded', 'limit_reached', 'insufficient', 'sold_out' or
-- 'lot_conflict'), the change record's id and balance_after, and the exchange row's id.
-- Parameters are declared once, in ../routines.ts. Changing this file: docs/adding-an-area.md.
CREATE PROCEDURE points_debit(IN p_owner VARCHAR(80), IN p_open_id VARCHAR(128), IN p_amount BIGINT, IN p_now BIGINT, IN p_source VARCHAR(16),
  IN p_change_id VARCHAR(64), IN p_description VARCHAR(1024), IN p_prize_type VARCHAR(16), IN p_task_title VARCHAR(128),
  IN p_request_id VARCHAR(64), IN p_request_hash VARCHAR(64), IN p_dedupe_key VARCHAR(128),
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
  DECLARE v_refused VARCHAR(16) DEFAULT NULL;
  DECLARE v_held VARCHAR(128);
  DECLARE v_taken TINYINT DEFAULT 0;
  -- Soonest-expiring first, then the lots that never expire, oldest first.
  DECLARE lots CURSOR FOR SELECT id, remaining FROM points_lots WHERE open_id = p_open_id AND remaining > 0 AND (expires_at IS NULL OR expires_at > p_now)
    ORDER BY CASE WHEN expires_at IS NULL THEN 1 ELSE 0 END, expires_at, id;
  DECLARE CONTINUE HANDLER FOR NOT FOUND SET v_done = 1;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
  -- A request already answered is answered from its record or its refusal, even when the
  -- balance or stock has changed since; one recorded concurrently is caught by the unique key
  -- (a change record) or under the account row (a refusal) instead.
  IF p_request_id IS NOT NULL AND (
      EXISTS (SELECT 1 FROM points_changes WHERE owner = p_owner AND open_id = p_open_id AND request_id = p_request_id)
      OR EXISTS (SELECT 1 FROM points_refusals WHERE owner = p_owner AND open_id = p_open_id AND request_id = p_request_id)) THEN
    SELECT 'recorded' AS outcome, NULL AS id, NULL AS balance_after, NULL AS exchange_id;
    LEAVE debit;
  END IF;
  work: BEGIN
    -- The exchange limit, before any work (its unique key still decides under a race).
    IF p_prize_id IS NOT NULL AND EXISTS (SELECT 1 FROM points_exchanges
        WHERE open_id = p_open_id AND prize_id = p_prize_id AND period_key = p_period_key) THEN
      SET v_refused = 'limit_reached';
      LEAVE work;
    END IF;
    START TRANSACTION;
    UPDATE points_accounts SET balance = balance - p_amount, updated_at = p_now WHERE open_id = p_open_id AND balance >= p_amount;
    IF ROW_COUNT() <> 1 THEN
      ROLLBACK;
      SET v_refused = 'insufficient';
      LEAVE work;
    END IF;
    -- A refusal stored since the first check, by a call that held the account row before us.
    IF p_request_id IS NOT NULL AND EXISTS (SELECT 1 FROM points_refusals WHERE owner = p_owner AND open_id = p_open_id AND request_id = p_request_id) THEN
      ROLLBACK;
      SELECT 'recorded' AS outcome, NULL AS id, NULL AS balance_after, NULL AS exchange_id;
      LEAVE debit;
    END IF;
    SELECT IFNULL(SUM(remaining), 0) INTO v_available FROM points_lots WHERE open_id = p_open_id AND remaining > 0 AND (expires_at IS NULL OR expires_at > p_now);
    IF v_available < p_amount THEN
      ROLLBACK;
      SET v_refused = 'insufficient';
      LEAVE work;
    END IF;
    INSERT INTO points_changes (owner, open_id, direction, source, face_value, balance_after, description, change_id,
        prize_type, task_title, created_at, expires_at, request_id, request_hash, dedupe_key)
      VALUES (p_owner, p_open_id, 2, p_source, p_amount, v_available - p_amount, p_description, p_change_id,
        p_prize_type, p_task_title, p_now, NULL, p_request_id, p_request_hash, p_dedupe_key);
    SET v_id = LAST_INSERT_ID();
    OPEN lots;
    draw: LOOP
      FETCH lots INTO v_lot, v_remaining;
      IF v_done OR v_left = 0 THEN LEAVE draw; END IF;
      SET v_take = LEAST(v_remaining, v_left);
      UPDATE points_lots SET remaining = remaining - v_take WHERE id = v_lot AND remaining >= v_take;
      IF ROW_COUNT() <> 1 THEN
        CLOSE lots;
        ROLLBACK;
        SELECT 'lot_conflict' AS outcome, NULL AS id, NULL AS balance_after, NULL AS exchange_id;
        LEAVE debit;
      END IF;
      INSERT INTO points_draws (record_id, lot_id, amount) VALUES (v_id, v_lot, v_take);
      SET v_left = v_left - v_take;
    END LOOP;
    CLOSE lots;
    IF v_left > 0 THEN
      ROLLBACK;
      SELECT 'lot_conflict' AS outcome, NULL AS id, NULL AS balance_after, NULL AS exchange_id;
      LEAVE debit;
    END IF;
    IF p_prize_id IS NOT NULL THEN
      UPDATE points_prizes SET stock = stock - 1 WHERE prize_id = p_prize_id AND stock > 0;
      IF ROW_COUNT() <> 1 THEN
        ROLLBACK;
        SET v_refused = 'sold_out';
        LEAVE work;
      END IF;
      INSERT INTO points_exchanges (owner, open_id, prize_id, request_id, request_hash, record_id, period_key, title, icon, face_value,
          type, address, user_name, tel, created_at)
        VALUES (p_owner, p_open_id, p_prize_id, p_request_id, p_request_hash, v_id, p_period_key, p_title, p_icon, p_amount,
          p_type, p_address, p_user_name, p_tel, p_now);
    END IF;
    COMMIT;
    SELECT 'ok' AS outcome, v_id AS id, v_available - p_amount AS balance_after,
      IF(p_prize_id IS NULL, NULL, LAST_INSERT_ID()) AS exchange_id;
    LEAVE debit;
  END work;
  -- Refused: the refusal becomes the request id's answer (see the header). The account row is
  -- created outside the transaction if missing, as ensureAccount does.
  IF p_request_id IS NOT NULL THEN
    INSERT IGNORE INTO points_accounts (open_id, balance, updated_at) VALUES (p_open_id, 0, p_now);
    START TRANSACTION;
    SELECT open_id INTO v_held FROM points_accounts WHERE open_id = p_open_id FOR UPDATE;
    IF EXISTS (SELECT 1 FROM points_changes WHERE owner = p_owner AND open_id = p_open_id AND request_id = p_request_id) THEN
      ROLLBACK;
      SELECT 'recorded' AS outcome, NULL AS id, NULL AS balance_after, NULL AS exchange_id;
      LEAVE debit;
    END IF;
    BEGIN
      DECLARE CONTINUE HANDLER FOR 1062 SET v_taken = 1;
      INSERT INTO points_refusals (owner, open_id, request_id, request_hash, reason, face_value, period_key, created_at)
        VALUES (p_owner, p_open_id, p_request_id, IFNULL(p_request_hash, ''), v_refused, p_amount, IFNULL(p_period_key, ''), p_now);
    END;
    IF v_taken THEN
      ROLLBACK;
      SELECT 'recorded' AS outcome, NULL AS id, NULL AS balance_after, NULL AS exchange_id;
      LEAVE debit;
    END IF;
    COMMIT;
  END IF;
  SELECT v_refused AS outcome, NULL AS id, NULL AS balance_after, NULL AS exchange_id;
END
