-- Energy and balance rollups. Each query is written once; the profile makes it a continuous
-- aggregate (timescale) or a table kept by wattline_admin.refresh_pending (postgres).
-- Energy is the sum of stored deltas (0004), so hourly buckets add up to the daily bucket and to
-- last - first. Day buckets are UTC days. Refresh windows: (start, end, every) per width.

SELECT wattline_admin.create_rollup(
    'connector_energy_' || v.suffix, 'wattline.meter_values', v.width,
    'bucket, charge_point_id, connector_id', replace($q$
    SELECT time_bucket(INTERVAL '{width}', s.time) AS bucket, s.charge_point_id, s.connector_id,
           sum(s.delta) AS energy_wh,
           last(s.value, s.time) AS register_wh,
           count(*) AS readings
      FROM {source} AS s
     WHERE s.measurand = 'Energy.Active.Import.Register' AND s.phase = ''
       AND s.location = 'Outlet'
     GROUP BY 1, 2, 3 $q$, '{width}', v.width::text),
    v.refresh_start, v.width, v.refresh_every)
  FROM (VALUES ('hourly', INTERVAL '1 hour', INTERVAL '7 days', INTERVAL '5 minutes'),
               ('daily', INTERVAL '1 day', INTERVAL '30 days', INTERVAL '1 hour'))
       AS v (suffix, width, refresh_start, refresh_every);

SELECT wattline_admin.create_rollup(
    'meter_energy_' || v.suffix, 'wattline.register_readings', v.width,
    'bucket, meter_id, element', replace($q$
    SELECT time_bucket(INTERVAL '{width}', s.time) AS bucket, s.meter_id, s.element,
           sum(s.delta_import_wh) AS import_wh,
           sum(s.delta_export_wh) AS export_wh,
           last(s.import_wh, s.time) AS import_register_wh,
           last(s.export_wh, s.time) AS export_register_wh,
           count(*) AS readings
      FROM {source} AS s
     GROUP BY 1, 2, 3 $q$, '{width}', v.width::text),
    v.refresh_start, v.width, v.refresh_every)
  FROM (VALUES ('5m', INTERVAL '5 minutes', INTERVAL '1 day', INTERVAL '1 minute'),
               ('hourly', INTERVAL '1 hour', INTERVAL '7 days', INTERVAL '5 minutes'),
               ('daily', INTERVAL '1 day', INTERVAL '30 days', INTERVAL '1 hour'))
       AS v (suffix, width, refresh_start, refresh_every);

SELECT wattline_admin.create_rollup(
    'prepay_balance_daily', 'wattline.meter_prepay_balance', INTERVAL '1 day',
    'bucket, meter_id', $q$
    SELECT time_bucket(INTERVAL '1 day', s.time) AS bucket, s.meter_id,
           min(s.balance) AS min_balance,
           max(s.balance) AS max_balance,
           avg(s.balance) AS mean_balance,
           last(s.balance, s.time) AS last_balance,
           last(s.emergency_credit, s.time) AS last_emergency_credit,
           count(*) AS readings
      FROM {source} AS s
     GROUP BY 1, 2 $q$,
    INTERVAL '30 days', INTERVAL '1 day', INTERVAL '1 hour');
