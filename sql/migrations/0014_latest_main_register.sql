-- The connector's latest main energy register inside a transaction (the second source of a
-- session's end register, after meterStop) was written out twice: in the session_report view
-- (0008) and in the session report job's report_transactions query. It is one function now,
-- which both use, so the two cannot drift apart. A one-SELECT SQL function called in FROM is
-- inlined by the planner: each session is still one backward range scan of meter_values_key.
CREATE FUNCTION wattline.latest_main_register(
    p_charge_point_id text, p_connector_id integer, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (value numeric, "time" timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT m.value, m.time FROM wattline.meter_values m
     WHERE m.charge_point_id = p_charge_point_id AND m.connector_id = p_connector_id
       AND m.measurand = 'Energy.Active.Import.Register' AND m.phase = ''
       AND m.location = 'Outlet'
       AND m.time >= p_from AND m.time <= coalesce(p_to, 'infinity')
     ORDER BY m.time DESC LIMIT 1
$$;

-- The view as in 0008, its latest register from the function.
CREATE OR REPLACE VIEW wattline.session_report AS
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
      LEFT JOIN LATERAL wattline.latest_main_register(
            t.charge_point_id, t.connector_id, t.started_at, t.stopped_at) lr ON true
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
