-- The dashboard's rollup queries (sql/queries/dashboard.sql) answered from the raw rows instead,
-- for bench/dashboard_queries.py: the same columns, the same arithmetic on the same sums, so the
-- answers must be equal to the last bit. Energy is the sum of the stored deltas (0004), as in
-- the rollups.
--
-- A rollup query keeps the buckets that START in [lo, hi); lo and hi need not be on a bucket
-- edge (the "Last 24 hours" preset is not). Those buckets hold exactly the raw rows from the
-- first bucket edge at or after lo to the first edge at or after hi: raw_lo and raw_hi, which
-- bench/dashboard_queries.py computes and passes as values. (Computed in SQL, in a CTE, they
-- were run-time parameters: the planner could not see the range, guessed a few rows per
-- chunk and chose the time index over the charge point's, and TimescaleDB read every charge
-- point's rows of each chunk: 1.3 s where the plain table took 50 ms.)

-- raw_charger_energy_hourly --
-- dash_charger_energy_hourly over wattline.meter_values
SELECT time_bucket(INTERVAL '1 hour', m.time) AS bucket, m.connector_id,
       (sum(m.delta) / 1000)::float8 AS energy_kwh
  FROM wattline.meter_values m
 WHERE m.charge_point_id = %(charge_point_id)s
   AND m.measurand = 'Energy.Active.Import.Register' AND m.phase = '' AND m.location = 'Outlet'
   AND m.time >= %(raw_lo)s AND m.time < %(raw_hi)s
 GROUP BY 1, 2
 ORDER BY 1, 2;

-- raw_energy_by_charger_day --
-- dash_energy_by_charger_day over wattline.meter_values
WITH per_connector AS (
    SELECT time_bucket(INTERVAL '1 day', m.time) AS bucket, m.charge_point_id, m.connector_id,
           sum(m.delta) AS energy_wh
      FROM wattline.meter_values m
     WHERE m.measurand = 'Energy.Active.Import.Register' AND m.phase = ''
       AND m.location = 'Outlet'
       AND m.time >= %(raw_lo)s AND m.time < %(raw_hi)s
     GROUP BY 1, 2, 3
)
SELECT bucket AS day, charge_point_id, sum(energy_wh / 1000)::float8 AS energy_kwh
  FROM per_connector
 GROUP BY 1, 2
 ORDER BY 1, 2;

-- raw_energy_by_meter_day --
-- dash_energy_by_meter_day over wattline.register_readings
WITH per_register AS (
    SELECT time_bucket(INTERVAL '1 day', r.time) AS bucket, r.meter_id, r.element,
           sum(r.delta_import_wh) AS import_wh, sum(r.delta_export_wh) AS export_wh
      FROM wattline.register_readings r
     WHERE r.time >= %(raw_lo)s AND r.time < %(raw_hi)s
     GROUP BY 1, 2, 3
)
SELECT e.bucket AS day, g.serial, sum(e.import_wh / 1000)::float8 AS import_kwh,
       sum(e.export_wh / 1000)::float8 AS export_kwh
  FROM per_register e
  JOIN wattline.meter_registry g ON g.id = e.meter_id
 GROUP BY 1, 2
 ORDER BY 1, 2;
