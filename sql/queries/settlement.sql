-- settlement_readings --
-- Register deltas of every meter (or one) in a time window, with the meter's time zone.
SELECT r.meter_id::text AS meter_id, g.timezone, r.time, r.delta_import_wh::float8 AS delta_import_wh,
       r.delta_export_wh::float8 AS delta_export_wh
  FROM wattline.register_readings r
  JOIN wattline.meter_registry g ON g.id = r.meter_id
 WHERE r.time >= %(lo)s AND r.time < %(hi)s
   AND (%(meter_id)s::uuid IS NULL OR r.meter_id = %(meter_id)s::uuid);

-- settlement_changed_since --
-- Per meter, the earliest reading received after the watermark: settlement recomputes from
-- there, so late and out-of-order readings correct the periods they fall in.
SELECT meter_id::text AS meter_id, min(time) AS first_time, max(time) AS last_time,
       max(received_at) AS last_received
  FROM wattline.register_readings
 WHERE received_at > %(since)s
 GROUP BY meter_id;

-- upsert_settlement_period --
INSERT INTO wattline.settlement_periods
       (meter_id, period_start, period_end, import_wh, export_wh, net_wh, status, tokens,
        computed_at)
VALUES (%(meter_id)s, %(period_start)s, %(period_end)s, %(import_wh)s, %(export_wh)s,
        %(net_wh)s, %(status)s, %(tokens)s, now())
ON CONFLICT (meter_id, period_start) DO UPDATE
   SET period_end = EXCLUDED.period_end, import_wh = EXCLUDED.import_wh,
       export_wh = EXCLUDED.export_wh, net_wh = EXCLUDED.net_wh, status = EXCLUDED.status,
       tokens = EXCLUDED.tokens, computed_at = EXCLUDED.computed_at;

-- create_settlement_stage --
-- Where settlement_job COPYs computed periods before merging them in one statement. Amounts are
-- float8 as Polars computed them: the merge casts them to numeric exactly as a bound float
-- parameter would be.
CREATE TEMP TABLE IF NOT EXISTS settlement_stage (
    meter_id uuid, period_start timestamptz, period_end timestamptz, import_wh float8,
    export_wh float8, net_wh float8, status text, tokens float8
) ON COMMIT DELETE ROWS;

-- copy_settlement_stage --
COPY pg_temp.settlement_stage
     (meter_id, period_start, period_end, import_wh, export_wh, net_wh, status, tokens)
FROM STDIN (FORMAT csv);

-- merge_settlement_stage --
-- upsert_settlement_period for every staged period, emptying the stage as it goes
WITH staged AS (DELETE FROM pg_temp.settlement_stage RETURNING *)
INSERT INTO wattline.settlement_periods
       (meter_id, period_start, period_end, import_wh, export_wh, net_wh, status, tokens,
        computed_at)
SELECT meter_id, period_start, period_end, import_wh, export_wh, net_wh, status, tokens, now()
  FROM staged
ON CONFLICT (meter_id, period_start) DO UPDATE
   SET period_end = EXCLUDED.period_end, import_wh = EXCLUDED.import_wh,
       export_wh = EXCLUDED.export_wh, net_wh = EXCLUDED.net_wh, status = EXCLUDED.status,
       tokens = EXCLUDED.tokens, computed_at = EXCLUDED.computed_at;

-- job_watermark --
SELECT upto FROM wattline_admin.job_watermarks WHERE job = %(job)s;

-- set_job_watermark --
INSERT INTO wattline_admin.job_watermarks (job, upto) VALUES (%(job)s, %(upto)s)
ON CONFLICT (job) DO UPDATE SET upto = EXCLUDED.upto, updated_at = now();
