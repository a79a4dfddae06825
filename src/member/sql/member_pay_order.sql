-- ConsumeCpoint's payment (MySQL only) as one round trip. The statements and checks are those
-- of the SQLite path in ../store.ts (payOrderInTransaction): the conditional debit checked by
-- affected rows, the order row and the journal row, committed together or rolled back
-- together. Order ids are unique per owner (platform/owner.ts). A debit refused for lack of
-- c-points rolls back and the refused order (status 1) is then inserted under the same unique
-- key a payment takes: the refusal is the order id's final answer, and whichever of two calls
-- with one key comes first decides. Answers one row (outcome, balance): 'paid' with the balance
-- after, 'insufficient' (this call stored the refusal), or 'raced' when the order id already
-- had an answer (the caller reads it).
-- Parameters are declared once, in ../routines.ts. Changing this file: docs/adding-an-area.md.
CREATE PROCEDURE member_pay_order(
  IN p_owner VARCHAR(80), IN p_order_id VARCHAR(128), IN p_uid VARCHAR(64), IN p_amount BIGINT,
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
    BEGIN
      DECLARE CONTINUE HANDLER FOR 1062 SET v_taken = 1;
      INSERT INTO member_orders (owner, order_id, uid, cpoint, status, revoked_cpoint, balance_after, created_at, updated_at)
        VALUES (p_owner, p_order_id, p_uid, p_amount, 1, 0, NULL, p_now, p_now);
    END;
    SELECT IF(v_taken, 'raced', 'insufficient') AS outcome, NULL AS balance;
    LEAVE pay;
  END IF;
  SET v_balance = LAST_INSERT_ID();
  BEGIN
    DECLARE CONTINUE HANDLER FOR 1062 SET v_taken = 1;
    INSERT INTO member_orders (owner, order_id, uid, cpoint, status, revoked_cpoint, balance_after, created_at, updated_at)
      VALUES (p_owner, p_order_id, p_uid, p_amount, 2, 0, v_balance, p_now, p_now);
  END;
  IF v_taken THEN
    ROLLBACK;
    SELECT 'raced' AS outcome, NULL AS balance;
    LEAVE pay;
  END IF;
  INSERT INTO member_journal (owner, uid, amount, score, balance_after, kind, ref, source, operator, note, created_at)
    VALUES (p_owner, p_uid, -p_amount, 0, v_balance, 'consume', p_order_id, p_source, p_operator, p_note, p_now);
  COMMIT;
  SELECT 'paid' AS outcome, v_balance AS balance;
END
