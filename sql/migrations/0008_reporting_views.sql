-- The SQL reporting interface (README: "SQL reporting interface"). Views only read; the figures
-- follow DESIGN.md "Definitions". Money uses round(numeric, 2), which rounds halves away from
-- zero: half-up for the positive amounts here, the same as analytics/cost.py.

-- Thresholds an operator can change per database or role, e.g.
-- ALTER DATABASE wattline SET wattline.low_balance_threshold = '10';
CREATE OR REPLACE FUNCTION wattline.setting(name text, fallback numeric) RETURNS numeric
LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('wattline.' || name, true), '')::numeric, fallback)
$$;

-- Per connector: the latest register, its age and freshness, and the open session if any.
CREATE VIEW wattline.connector_meter_status AS
SELECT c.charge_point_id, c.connector_id, c.status,
       round(c.last_meter_wh / 1000, 3) AS meter_kwh,
       c.last_meter_at AS meter_at,
       now() - c.last_meter_at AS meter_age,
       CASE WHEN c.last_meter_at IS NULL THEN 'never'
            WHEN now() - c.last_meter_at < INTERVAL '2 minutes' THEN 'good'
            WHEN now() - c.last_meter_at <= INTERVAL '5 minutes' THEN 'warning'
            ELSE 'stale' END AS freshness,
       t.id AS transaction_id,
       t.started_at,
       s.energy_kwh AS energy_since_start_kwh,
       round(s.energy_kwh * tf.energy_rate, 2) AS estimated_cost,
       tf.currency,
       now() - t.started_at AS duration
  FROM wattline.connectors c
  LEFT JOIN LATERAL (
        SELECT * FROM wattline.transactions t
         WHERE t.charge_point_id = c.charge_point_id AND t.connector_id = c.connector_id
           AND t.stopped_at IS NULL AND NOT t.orphan
         ORDER BY t.started_at DESC LIMIT 1) t ON true
  -- A register read before the session started says nothing about it.
  LEFT JOIN LATERAL (
        SELECT round(greatest(c.last_meter_wh - t.meter_start_wh, 0) / 1000, 3) AS energy_kwh
         WHERE c.last_meter_at >= t.started_at) s ON true
  LEFT JOIN wattline.tariffs tf ON tf.id = c.tariff_id;

-- One row per transaction: energy by end-register priority (meterStop, then the connector's
-- latest register inside the transaction, then a manual reading) with the source used, money
-- at the connector's flat rate, and what it did for the car where that is known.
CREATE VIEW wattline.session_report AS
WITH s AS (
    SELECT t.*, c.tariff_id, c.max_power_kw AS connector_max_kw,
           lr.value AS latest_register_wh, lr.time AS latest_register_at,
           coalesce(t.meter_stop_wh, lr.value, t.manual_meter_stop_wh) AS meter_end_wh,
           CASE WHEN t.meter_stop_wh IS NOT NULL THEN 'meter_stop'
                WHEN lr.value IS NOT NULL THEN 'connector_register'
                WHEN t.manual_meter_stop_wh IS NOT NULL THEN 'manual'
                ELSE 'none' END AS end_source
      FROM wattline.transactions t
      LEFT JOIN wattline.connectors c
             ON c.charge_point_id = t.charge_point_id AND c.connector_id = t.connector_id
      LEFT JOIN LATERAL (
            SELECT m.value, m.time FROM wattline.meter_values m
             WHERE m.charge_point_id = t.charge_point_id AND m.connector_id = t.connector_id
               AND m.measurand = 'Energy.Active.Import.Register' AND m.phase = ''
               AND m.location = 'Outlet'
               AND m.time >= t.started_at AND m.time <= coalesce(t.stopped_at, 'infinity')
             ORDER BY m.time DESC LIMIT 1) lr ON true
), e AS (
    -- greatest() skips NULLs, so an unknown end register must stay NULL explicitly.
    SELECT s.*, CASE WHEN s.meter_end_wh IS NOT NULL AND s.meter_start_wh IS NOT NULL
                     THEN round(greatest(s.meter_end_wh - s.meter_start_wh, 0) / 1000, 3)
                END AS energy_kwh,
           extract(epoch FROM coalesce(s.stopped_at, s.latest_register_at) - s.started_at)
               / 3600 AS hours
      FROM s
), m AS (
    SELECT e.*, tf.currency, tf.energy_rate, tf.tax_rate,
           round(e.energy_kwh * tf.energy_rate, 2) AS cost,
           v.battery_kwh, coalesce(v.km_per_kwh, 4.5) AS km_per_kwh,
           round(e.energy_kwh / nullif(e.hours, 0), 2) AS average_kw
      FROM e
      LEFT JOIN wattline.tariffs tf ON tf.id = e.tariff_id
      LEFT JOIN wattline.vehicles v ON v.id_tag = e.id_tag
)
SELECT id AS transaction_id, charge_point_id, connector_id, id_tag, orphan,
       started_at, stopped_at, stop_reason,
       meter_start_wh, meter_end_wh, end_source, latest_register_wh, latest_register_at,
       energy_kwh, currency, energy_rate, tax_rate,
       cost, round(cost * tax_rate, 2) AS tax, cost + round(cost * tax_rate, 2) AS total,
       round(energy_kwh / battery_kwh * 100, 1) AS soc_change_pct,
       round(energy_kwh * km_per_kwh)::integer AS range_added_km,
       round(hours, 3) AS hours, average_kw,
       round(average_kw / connector_max_kw * 100, 1) AS efficiency_pct
  FROM m;

-- Per charge point: sessions, energy, the last stop and the last error.
CREATE VIEW wattline.charger_summary AS
SELECT cp.id AS charge_point_id, cp.vendor, cp.model, cp.site, cp.registration_status,
       cp.last_seen_at,
       count(r.transaction_id) AS sessions,
       coalesce(sum(r.energy_kwh), 0) AS energy_kwh,
       max(r.stopped_at) AS last_stop_at,
       le.error_code AS last_error_code, le.time AS last_error_at
  FROM wattline.charge_points cp
  LEFT JOIN wattline.session_report r ON r.charge_point_id = cp.id
  LEFT JOIN LATERAL (
        SELECT n.error_code, n.time FROM wattline.status_notifications n
         WHERE n.charge_point_id = cp.id AND n.error_code <> 'NoError'
         ORDER BY n.time DESC LIMIT 1) le ON true
 GROUP BY cp.id, le.error_code, le.time;

-- meter_shadows with the active and future tariff fields spelled out (meter domain seed).
CREATE VIEW wattline.meter_shadows_tariffs AS
SELECT s.*, r.serial, r.name,
       (s.tariffs_active ->> 'standing_charge')::numeric AS active_standing_charge,
       (s.tariffs_active ->> 'unit_rate_element_a')::numeric AS active_unit_rate_a,
       (s.tariffs_active ->> 'unit_rate_element_b')::numeric AS active_unit_rate_b,
       (s.tariffs_active ->> 'prepayment_ecredit_availability')::numeric
           AS active_ecredit_availability,
       (s.tariffs_active ->> 'prepayment_debt_recovery_rate')::numeric
           AS active_debt_recovery_rate,
       (s.tariffs_active ->> 'prepayment_emergency_credit')::numeric AS active_emergency_credit,
       (s.tariffs_future ->> 'standing_charge')::numeric AS future_standing_charge,
       (s.tariffs_future ->> 'unit_rate_element_a')::numeric AS future_unit_rate_a,
       (s.tariffs_future ->> 'unit_rate_element_b')::numeric AS future_unit_rate_b,
       (s.tariffs_future ->> 'activation_datetime')::timestamptz AS future_activation_datetime
  FROM wattline.meter_shadows s
  JOIN wattline.meter_registry r ON r.id = s.id;

-- Prepayment meters whose balance is below wattline.low_balance_threshold (default 5.00).
CREATE VIEW wattline.meters_low_balance AS
SELECT r.id AS meter_id, r.serial, r.name, s.balance, s.emergency_credit,
       s.balance_updated_at, wattline.setting('low_balance_threshold', 5.00) AS threshold
  FROM wattline.meter_registry r
  JOIN wattline.meter_shadows s ON s.id = r.id
 WHERE r.kind = 'prepay' AND s.balance < wattline.setting('low_balance_threshold', 5.00);

-- Active meters not heard from for over wattline.offline_after_minutes (default 60).
CREATE VIEW wattline.meters_offline_recently AS
SELECT r.id AS meter_id, r.serial, r.name, s.last_seen_at AS last_online,
       now() - s.last_seen_at AS offline_for
  FROM wattline.meter_registry r
  LEFT JOIN wattline.meter_shadows s ON s.id = r.id
 WHERE r.mode = 'active'
   AND (s.last_seen_at IS NULL
        OR s.last_seen_at < now() - wattline.setting('offline_after_minutes', 60)
                                    * INTERVAL '1 minute');
