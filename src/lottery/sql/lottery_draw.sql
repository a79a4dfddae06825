-- The first try of a Draw (MySQL only; ../store.ts drawOnce with the stock taken last) as one
-- round trip, with the same statements and checks: the play (and on a winning slot the
-- session's win) taken by conditional UPDATEs, then the prize row, the log row and, last, the
-- exact amount from stock; any refusal rolls the draw back whole. The caller renders the
-- answers beforehand: one for each refusal and one for the drawn result. Answers one row
-- (outcome, log_id): the logged result, 'short' when the stock no longer fits the drawn amount
-- (nothing was written; the caller redoes the draw taking stock first), or 'replayed' when the
-- owner's request id was logged before (nothing was written).
-- Parameters are declared once, in ../routines.ts. Changing this file: docs/adding-an-area.md.
CREATE PROCEDURE lottery_draw(
  IN p_aid INT, IN p_pid INT, IN p_openid VARCHAR(128), IN p_session INT, IN p_request_id VARCHAR(64), IN p_owner VARCHAR(80), IN p_now BIGINT,
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
  UPDATE lottery_session_counters SET plays = plays + 1, wins = wins + v_win
    WHERE aid = p_aid AND openid = p_openid AND session = p_session AND wins < p_max_wins
      AND (p_max_session_plays IS NULL OR plays < p_max_session_plays + shares);
  SET v_taken = ROW_COUNT() = 1;
  IF v_taken THEN
    UPDATE lottery_user_counters SET plays = plays + 1
      WHERE aid = p_aid AND openid = p_openid AND (p_max_total_plays IS NULL OR plays < p_max_total_plays);
    IF ROW_COUNT() <> 1 THEN
      SET v_taken = 0;
      UPDATE lottery_session_counters SET plays = plays - 1, wins = wins - v_win WHERE aid = p_aid AND openid = p_openid AND session = p_session;
    END IF;
  END IF;
  IF NOT v_taken THEN
    -- Nothing was taken; a user who has won their share hears so, anyone else is out of plays.
    SELECT wins INTO v_wins FROM lottery_session_counters WHERE aid = p_aid AND openid = p_openid AND session = p_session;
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
    INSERT INTO ims_scratch_person_prize (aid, pid, openid, prize_id, prize_name, prize_type, money, secret, status, session, create_time, claim_time)
      VALUES (p_aid, p_pid, p_openid, p_prize_id, p_prize_name, p_prize_type, p_money, p_secret, IF(p_claimed, 1, 2), p_session, p_now, IF(p_claimed, p_now, 0));
  END IF;
  BEGIN
    DECLARE CONTINUE HANDLER FOR 1062 SET v_replayed = 1;
    INSERT INTO lottery_draw_log (aid, openid, owner, request_id, session, slot, prize_version, pool_key, prize_id, outcome, paid_cents, response, create_time)
      VALUES (p_aid, p_openid, p_owner, p_request_id, p_session, p_slot, p_prize_version, p_pool_key, p_prize_id, v_outcome, v_paid, v_response, p_now);
  END;
  IF v_replayed THEN
    ROLLBACK;
    SELECT 'replayed' AS outcome, NULL AS log_id;
    LEAVE draw;
  END IF;
  SET v_log_id = LAST_INSERT_ID();
  IF v_outcome = 'win' THEN
    UPDATE lottery_prize_stock SET won = won + 1, paid_cents = paid_cents + p_cents
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
END
