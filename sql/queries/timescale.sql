-- hypertable_storage --
-- Per hypertable of schema wattline: chunks, how many are compressed, and bytes before and
-- after compression of the compressed ones (TimescaleDB's own accounting).
SELECT h.hypertable_name AS name,
       count(c.chunk_name) AS chunks,
       count(c.chunk_name) FILTER (WHERE c.is_compressed) AS compressed_chunks,
       s.before_compression_total_bytes AS before_bytes,
       s.after_compression_total_bytes AS after_bytes
  FROM timescaledb_information.hypertables h
  LEFT JOIN timescaledb_information.chunks c
         ON c.hypertable_schema = h.hypertable_schema AND c.hypertable_name = h.hypertable_name
  LEFT JOIN LATERAL hypertable_compression_stats(
         format('%%I.%%I', h.hypertable_schema, h.hypertable_name)::regclass) s ON true
 WHERE h.hypertable_schema = 'wattline'
 GROUP BY 1, 4, 5
 ORDER BY 1;

-- policy_jobs --
-- TimescaleDB's jobs on wattline's hypertables and continuous aggregates, with their last run.
SELECT j.job_id, j.proc_name AS policy, coalesce(a.view_name, j.hypertable_name) AS relation,
       j.schedule_interval, j.scheduled, s.last_run_status, s.last_run_started_at,
       s.next_start, s.total_runs, s.total_failures
  FROM timescaledb_information.jobs j
  LEFT JOIN timescaledb_information.job_stats s ON s.job_id = j.job_id
  LEFT JOIN timescaledb_information.continuous_aggregates a
         ON a.materialization_hypertable_schema = j.hypertable_schema
        AND a.materialization_hypertable_name = j.hypertable_name
 WHERE j.hypertable_schema IS NOT NULL
 ORDER BY 3, 2;
