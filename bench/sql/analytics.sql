-- The baselines bench/analytics.py measures the analytics jobs against: the reporting view and
-- a plain SQL settlement (what a reporting tool would run), and the per-row queries of a naive
-- loop (one query per session, one INSERT per period), as the seed systems work.

-- view_session_report --
-- The session_report view (0008) over the same window as the job: flat-rate money only.
SELECT transaction_id, end_source, energy_kwh, cost, tax, total, soc_change_pct,
       range_added_km, average_kw, efficiency_pct
  FROM wattline.session_report
 WHERE started_at >= %(lo)s AND started_at < %(hi)s
 ORDER BY transaction_id;

-- naive_session_registers --
-- One session's main register readings: the naive loop runs this once per session.
SELECT time, value
  FROM wattline.meter_values
 WHERE charge_point_id = %(charge_point_id)s AND connector_id = %(connector_id)s
   AND measurand = 'Energy.Active.Import.Register' AND phase = '' AND location = 'Outlet'
   AND time >= %(started_at)s AND time <= coalesce(%(stopped_at)s::timestamptz, 'infinity')
 ORDER BY time;

-- naive_settlement_readings --
-- The chosen meters' readings, row by row for the naive settlement loop.
SELECT r.meter_id::text AS meter_id, g.timezone, r.time, r.delta_import_wh, r.delta_export_wh
  FROM wattline.register_readings r
  JOIN wattline.meter_registry g ON g.id = r.meter_id
 WHERE r.time >= %(lo)s AND r.time < %(hi)s AND r.meter_id = ANY (%(meter_ids)s::uuid[])
 ORDER BY r.meter_id, r.time;

-- bench_meter_ids --
SELECT id::text AS meter_id FROM wattline.meter_registry ORDER BY serial LIMIT %(limit)s;

-- sql_settlement --
-- Settlement periods in one statement: the period of a reading is its local wall-clock time
-- floored to the period length (analytics/settlement.py period_start), sums of deltas per period.
INSERT INTO wattline.settlement_periods
       (meter_id, period_start, period_end, import_wh, export_wh, net_wh, status, tokens)
SELECT meter_id, period_start, period_start + %(minutes)s * INTERVAL '1 minute',
       import_wh, export_wh, export_wh - import_wh,
       CASE WHEN export_wh - import_wh > 50 THEN 'EXPORTING'
            WHEN export_wh - import_wh < -50 THEN 'IMPORTING' ELSE 'IDLE' END,
       round((export_wh - import_wh) / 1000 * %(token_ratio)s, 3)
  FROM (SELECT r.meter_id, p.period_start,
               sum(coalesce(r.delta_import_wh, 0)) AS import_wh,
               sum(coalesce(r.delta_export_wh, 0)) AS export_wh
          FROM wattline.register_readings r
          JOIN wattline.meter_registry g ON g.id = r.meter_id
         CROSS JOIN LATERAL (SELECT r.time AT TIME ZONE g.timezone AS local) AS l
         CROSS JOIN LATERAL (
               SELECT r.time - make_interval(
                          mins => mod(extract(hour FROM l.local)::integer * 60
                                      + extract(minute FROM l.local)::integer, %(minutes)s),
                          secs => extract(second FROM l.local)) AS period_start) AS p
         WHERE r.time >= %(lo)s AND r.time < %(hi)s
         GROUP BY r.meter_id, p.period_start) AS s
ON CONFLICT (meter_id, period_start) DO UPDATE
   SET period_end = EXCLUDED.period_end, import_wh = EXCLUDED.import_wh,
       export_wh = EXCLUDED.export_wh, net_wh = EXCLUDED.net_wh, status = EXCLUDED.status,
       tokens = EXCLUDED.tokens, computed_at = now();

-- settlement_result --
SELECT meter_id::text AS meter_id, period_start, period_end, import_wh, export_wh, net_wh,
       status, tokens
  FROM wattline.settlement_periods
 ORDER BY meter_id, period_start;

-- clear_settlement --
DELETE FROM wattline.settlement_periods;

-- meter_values_of_sessions --
-- How many meter values the given sessions hold: the input the report covers.
SELECT count(*) AS n FROM wattline.meter_values WHERE transaction_id = ANY (%(ids)s::integer[]);
