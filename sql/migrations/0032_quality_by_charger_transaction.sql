-- meter_values.transaction_id is the id the charger sent, and meter_values_quality (0010) looked
-- it up as transactions.id on any charge point. A transaction started offline whose id collided
-- is renumbered, and keeps the charger's id in charger_transaction_id (ocpp.sql): its readings
-- then named another charge point's transaction, and were flagged outside_transaction by that
-- transaction's times, while their own transaction's times were never checked. Look the
-- transaction up as the central system does: same charge point, by the id the charger knows it
-- by (the newest that started by the reading's time, should a charger reuse an id).
CREATE INDEX transactions_charger_id
    ON wattline.transactions (charge_point_id, charger_transaction_id) WHERE charger_transaction_id IS NOT NULL;

CREATE OR REPLACE VIEW wattline.meter_values_quality AS
SELECT m.time, m.received_at, m.charge_point_id, m.connector_id, m.transaction_id, m.measurand,
       m.phase, m.location, m.unit, m.value, m.delta,
       CASE WHEN m.quality <> 'ok' THEN m.quality
            WHEN m.time > m.received_at
                          + wattline.setting('future_tolerance_s', 60) * INTERVAL '1 second'
                THEN 'future_timestamp'
            WHEN t.started_at IS NOT NULL
                 AND (m.time < t.started_at OR m.time > coalesce(t.stopped_at, 'infinity'))
                THEN 'outside_transaction'
            ELSE 'ok' END AS quality
  FROM wattline.meter_values m
  LEFT JOIN LATERAL (
        SELECT t.started_at, t.stopped_at
          FROM wattline.transactions t
         WHERE t.charge_point_id = m.charge_point_id
           AND ((t.id = m.transaction_id AND t.charger_transaction_id IS NULL)
                OR t.charger_transaction_id = m.transaction_id)
         ORDER BY t.started_at <= m.time DESC, t.started_at DESC
         LIMIT 1) t ON m.transaction_id IS NOT NULL;
