-- Meter health, prepayment burn rate and reading quality views (README: "SQL reporting
-- interface"). Thresholds come from wattline.setting (0008), so an operator can change them per
-- database or role, e.g. ALTER DATABASE wattline SET wattline.burn_window_days = '14'.

-- Per meter: what it spent per day over the last wattline.burn_window_days (default 7) and when
-- its credit runs out at that rate. Only decreases count: a top-up is money in, not use.
CREATE VIEW wattline.meter_burn_rate AS
WITH w AS (
    SELECT b.meter_id, b.time, b.balance,
           b.balance - lag(b.balance) OVER (PARTITION BY b.meter_id ORDER BY b.time) AS change
      FROM wattline.meter_prepay_balance b
     WHERE b.time >= now() - wattline.setting('burn_window_days', 7) * INTERVAL '1 day'
), s AS (
    SELECT meter_id,
           coalesce(sum(-change) FILTER (WHERE change < 0), 0) AS spent,
           extract(epoch FROM max(time) - min(time)) / 86400 AS days,
           (array_agg(balance ORDER BY time DESC))[1] AS balance,
           max(time) AS balance_at,
           count(*) AS readings
      FROM w GROUP BY meter_id
), r AS (
    SELECT s.*, s.spent / nullif(s.days, 0) AS per_day FROM s
)
SELECT g.id AS meter_id, g.serial, g.name, r.balance, r.balance_at, r.readings, r.spent,
       round(r.days, 3) AS days_observed,
       round(r.per_day, 2) AS burn_per_day,
       -- No spending seen: no forecast (NULL), rather than "never".
       CASE WHEN r.per_day > 0 THEN round(greatest(r.balance, 0) / r.per_day, 1) END
           AS days_until_empty,
       CASE WHEN r.per_day > 0
            THEN r.balance_at + greatest(r.balance, 0) / r.per_day * INTERVAL '1 day' END
           AS runs_out_at
  FROM r
  JOIN wattline.meter_registry g ON g.id = r.meter_id
 WHERE g.kind = 'prepay';

-- Per meter over the last wattline.health_window_hours (default 24): signal quality (CSQ below
-- wattline.csq_poor_below, default 10, is poor) and clock drift (flagged above
-- wattline.clock_drift_limit_s, default 60 s).
CREATE VIEW wattline.meter_health_summary AS
WITH h AS (
    SELECT m.*, m.csq < wattline.setting('csq_poor_below', 10) AS poor,
           abs(m.clock_time_diff_seconds) > wattline.setting('clock_drift_limit_s', 60) AS drifted
      FROM wattline.meter_health m
     WHERE m.time >= now() - wattline.setting('health_window_hours', 24) * INTERVAL '1 hour'
)
SELECT g.id AS meter_id, g.serial, g.name,
       count(h.time) AS samples,
       (array_agg(h.csq ORDER BY h.time DESC))[1] AS latest_csq,
       min(h.csq) AS min_csq,
       round(avg(h.csq), 1) AS mean_csq,
       count(*) FILTER (WHERE h.poor) AS poor_csq_samples,
       round(100.0 * count(*) FILTER (WHERE h.poor) / nullif(count(h.csq), 0), 1) AS poor_csq_pct,
       (array_agg(h.clock_time_diff_seconds ORDER BY h.time DESC))[1] AS latest_drift_s,
       max(abs(h.clock_time_diff_seconds)) AS max_abs_drift_s,
       count(*) FILTER (WHERE h.drifted) AS drifted_samples,
       coalesce((array_agg(h.poor ORDER BY h.time DESC))[1], false) AS csq_poor_now,
       coalesce((array_agg(h.drifted ORDER BY h.time DESC))[1], false) AS drift_flagged_now
  FROM wattline.meter_registry g
  JOIN h ON h.meter_id = g.id
 GROUP BY g.id;

-- Every meter value with its quality: what ingest stored ('ok', 'reset' where a register went
-- down), else 'future_timestamp' (stamped over wattline.future_tolerance_s, default 60 s, after
-- we received it), else 'outside_transaction' (it names a transaction it falls outside of).
-- Computed here rather than at ingest, because a transaction's stop can arrive after its
-- readings. Re-sent duplicates never reach the table (natural keys), so none is flagged.
CREATE VIEW wattline.meter_values_quality AS
SELECT m.time, m.received_at, m.charge_point_id, m.connector_id, m.transaction_id, m.measurand,
       m.phase, m.location, m.unit, m.value, m.delta,
       CASE WHEN m.quality <> 'ok' THEN m.quality
            WHEN m.time > m.received_at
                          + wattline.setting('future_tolerance_s', 60) * INTERVAL '1 second'
                THEN 'future_timestamp'
            WHEN t.id IS NOT NULL
                 AND (m.time < t.started_at OR m.time > coalesce(t.stopped_at, 'infinity'))
                THEN 'outside_transaction'
            ELSE 'ok' END AS quality
  FROM wattline.meter_values m
  LEFT JOIN wattline.transactions t ON t.id = m.transaction_id;

-- The same for meter register readings ('reset' from ingest, else 'future_timestamp').
CREATE VIEW wattline.register_readings_quality AS
SELECT r.time, r.received_at, r.register_id, r.meter_id, r.element, r.import_wh, r.export_wh,
       r.delta_import_wh, r.delta_export_wh,
       CASE WHEN r.quality <> 'ok' THEN r.quality
            WHEN r.time > r.received_at
                          + wattline.setting('future_tolerance_s', 60) * INTERVAL '1 second'
                THEN 'future_timestamp'
            ELSE 'ok' END AS quality
  FROM wattline.register_readings r;
