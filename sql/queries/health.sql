-- rollup_lag_postgres --
-- Per rollup: changes logged and not refreshed yet, and the age of the oldest (0: none).
SELECT r.name AS rollup,
       count(i.id) AS pending,
       coalesce(extract(epoch FROM now() - min(i.logged_at)), 0)::float8 AS lag_s
  FROM wattline_admin.rollups r
  LEFT JOIN wattline_admin.rollup_invalidations i ON i.rollup = r.name
 GROUP BY r.name
 ORDER BY r.name;

-- rollup_lag_timescale --
-- Per continuous aggregate of schema wattline: seconds since its refresh policy last
-- succeeded (since its first start, if it never has; job stats say -infinity for "never").
SELECT a.view_name AS rollup,
       NULL::bigint AS pending,
       greatest(0, extract(epoch FROM now() - coalesce(
           CASE WHEN isfinite(s.last_successful_finish) THEN s.last_successful_finish END,
           CASE WHEN isfinite(j.initial_start) THEN j.initial_start END,
           now())))::float8 AS lag_s
  FROM timescaledb_information.continuous_aggregates a
  JOIN timescaledb_information.jobs j  -- names the view, or its materialization (older)
    ON j.proc_name = 'policy_refresh_continuous_aggregate'
   AND ((j.hypertable_schema, j.hypertable_name) = (a.view_schema, a.view_name)
        OR (j.hypertable_schema, j.hypertable_name)
           = (a.materialization_hypertable_schema, a.materialization_hypertable_name))
  LEFT JOIN timescaledb_information.job_stats s ON s.job_id = j.job_id
 WHERE a.view_schema = 'wattline'
 ORDER BY 1;
