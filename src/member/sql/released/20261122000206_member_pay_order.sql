-- Frozen: member_pay_order as migration 20261122000206_create_member_pay_order_procedure created it in the release of
-- 2026-12-02 (commit ad9e915). Never edit: the current definition is ../member_pay_order.sql.
CREATE PROCEDURE member_pay_order(
  IN p_order_id VARCHAR(128), IN p_uid VARCHAR(64), IN p_amount BIGINT, IN p_unpaid TINYINT,
  IN p_source VARCHAR(64), IN p_operator VARCHAR(64), IN p_note VARCHAR(255), IN p_now BIGINT)
MODIFIES SQL DATA
pay: BEGIN
  DECLARE v_balance BIGINT;
  DECLARE v_taken TINYINT DEFAULT 0;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
  START TRANSACTION;
  -- LAST_INSERT_ID(expr) keeps the balance after, sparing a SELECT.
  UPDATE member_users SET cpoint = LAST_INSERT_ID(cpoint - p_amount), updated_at = p_now WHERE uid = p_uid AND cpoint >= p_amount;
  IF ROW_COUNT() <> 1 THEN
    ROLLBACK;
    SELECT 'insufficient' AS outcome, NULL AS balance;
    LEAVE pay;
  END IF;
  SET v_balance = LAST_INSERT_ID();
  IF p_unpaid THEN
    UPDATE member_orders SET status = 2, balance_after = v_balance, updated_at = p_now
      WHERE order_id = p_order_id AND status = 1;
    IF ROW_COUNT() <> 1 THEN SET v_taken = 1; END IF;
  ELSE
    BEGIN
      DECLARE CONTINUE HANDLER FOR 1062 SET v_taken = 1;
      INSERT INTO member_orders (order_id, uid, cpoint, status, revoked_cpoint, balance_after, created_at, updated_at)
        VALUES (p_order_id, p_uid, p_amount, 2, 0, v_balance, p_now, p_now);
    END;
  END IF;
  IF v_taken THEN
    ROLLBACK;
    SELECT 'raced' AS outcome, NULL AS balance;
    LEAVE pay;
  END IF;
  INSERT INTO member_journal (uid, amount, score, balance_after, kind, ref, source, operator, note, created_at)
    VALUES (p_uid, -p_amount, 0, v_balance, 'consume', p_order_id, p_source, p_operator, p_note, p_now);
  COMMIT;
  SELECT 'paid' AS outcome, v_balance AS balance;
END
