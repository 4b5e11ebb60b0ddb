-- OCPP 2.0.1 transactions (issue 19). A 2.0.1 station names its transactions with strings it
-- chooses (transactionId, unique per station) and reports them as TransactionEvent Started,
-- Updated and Ended, each with a seqNo. They go into the same transactions table as 1.6's, so
-- the session report, rollups, SOC, cost and the dashboard treat both alike:
--  * ocpp_transaction_id keeps the station's string; (charge point, string) is unique, so a
--    re-sent or late event always finds its row, also one whose Started never came;
--  * the integer id is derived from (charge point, string) by the ingest (a hash, negative, as
--    1.6's offline ids are), so every event can be stored while the database is away, and a
--    collision with another transaction's id is resolved as insert_offline_transaction does.
ALTER TABLE wattline.transactions ADD COLUMN ocpp_transaction_id text;
CREATE UNIQUE INDEX transactions_ocpp_transaction_key
    ON wattline.transactions (charge_point_id, ocpp_transaction_id)
    WHERE ocpp_transaction_id IS NOT NULL;
COMMENT ON COLUMN wattline.transactions.ocpp_transaction_id IS
    'OCPP 2.0.1: the transactionId string the station chose (NULL for 1.6 transactions)';

-- Every TransactionEvent once (a re-sent event has the same seqNo), with what 2.0.1 says about
-- it beyond the readings: why it was sent, whether it was queued while the station was offline,
-- and why the transaction stopped.
CREATE TABLE wattline.transaction_events (
    charge_point_id      text NOT NULL,
    ocpp_transaction_id  text NOT NULL,
    seq_no               integer NOT NULL,
    event_type           text NOT NULL,          -- Started, Updated, Ended
    time                 timestamptz NOT NULL,   -- the station's timestamp
    received_at          timestamptz NOT NULL,
    trigger_reason       text NOT NULL,
    offline              boolean NOT NULL DEFAULT false,
    stopped_reason       text,
    evse_id              integer,
    id_token             text,
    PRIMARY KEY (charge_point_id, ocpp_transaction_id, seq_no)
);
COMMENT ON TABLE wattline.transaction_events IS
    'OCPP 2.0.1 TransactionEvent messages, one row per (station, transaction, seqNo)';
COMMENT ON COLUMN wattline.transaction_events.seq_no IS 'seqNo: the event''s number within its transaction';
COMMENT ON COLUMN wattline.transaction_events.time IS 'When the event happened (station clock, UTC)';
COMMENT ON COLUMN wattline.transaction_events.offline IS 'Sent late: queued while the station was offline';

-- Transactions whose events have holes in their seqNo sequence: events the station never
-- delivered (or has not yet), so the session's readings may be incomplete. Counted between the
-- first and last seqNo seen; a station numbering from 0 that lost its Started shows first 1.
CREATE VIEW wattline.transaction_event_gaps AS
SELECT charge_point_id, ocpp_transaction_id,
       min(seq_no) AS first_seq_no, max(seq_no) AS last_seq_no, count(*) AS received,
       max(seq_no) - min(seq_no) + 1 - count(*) AS missing
  FROM wattline.transaction_events
 GROUP BY charge_point_id, ocpp_transaction_id
HAVING max(seq_no) - min(seq_no) + 1 > count(*);
COMMENT ON VIEW wattline.transaction_event_gaps IS
    'OCPP 2.0.1 transactions with seqNo gaps: events missing between the first and last seen';
COMMENT ON COLUMN wattline.transaction_event_gaps.missing IS 'Number of seqNo values missing (count)';
COMMENT ON COLUMN wattline.transaction_event_gaps.charge_point_id IS 'Charge point (station) identity';
COMMENT ON COLUMN wattline.transaction_event_gaps.ocpp_transaction_id IS 'The station''s transactionId string';
COMMENT ON COLUMN wattline.transaction_event_gaps.first_seq_no IS 'Lowest seqNo received';
COMMENT ON COLUMN wattline.transaction_event_gaps.last_seq_no IS 'Highest seqNo received';
COMMENT ON COLUMN wattline.transaction_event_gaps.received IS 'Events received (count)';

-- The first transaction id free from p_told downwards (-1 after -2^31), at most 1,000 steps:
-- where an offline 1.6 start (insert_offline_transaction) or a 2.0.1 transaction
-- (upsert_transaction_201) goes when its derived id is another transaction's already.
CREATE FUNCTION wattline.free_transaction_id(p_told integer) RETURNS integer
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE probe (id, n) AS (
        SELECT p_told, 0
        UNION ALL
        SELECT CASE WHEN p.id = -2147483648 THEN -1 ELSE p.id - 1 END, p.n + 1
          FROM probe p
         WHERE p.n < 1000 AND EXISTS (SELECT 1 FROM wattline.transactions t WHERE t.id = p.id)
    )
    SELECT id FROM probe ORDER BY n DESC LIMIT 1
$$;
