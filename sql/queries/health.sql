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
-- succeeded (since the policy was created, if it never has).
SELECT a.view_name AS rollup,
       NULL::bigint AS pending,
       extract(epoch FROM now() - coalesce(s.last_successful_finish, j.initial_start,
                                           now()))::float8 AS lag_s
  FROM timescaledb_information.continuous_aggregates a
  JOIN timescaledb_information.jobs j
    ON j.hypertable_schema = a.materialization_hypertable_schema
   AND j.hypertable_name = a.materialization_hypertable_name
   AND j.proc_name = 'policy_refresh_continuous_aggregate'
  LEFT JOIN timescaledb_information.job_stats s ON s.job_id = j.job_id
 WHERE a.view_schema = 'wattline'
 ORDER BY 1;
