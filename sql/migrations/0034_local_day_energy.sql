-- Daily energy by local day (issue 17): the *_daily rollups count UTC days, which for an operator
-- in India run 05:30-05:30. These views count the device's local days instead.
--
-- Why views over a fine rollup, not a continuous aggregate per zone: a continuous aggregate's
-- time_bucket takes one constant zone, so per-device zones (and a site zone changed later) would
-- need one aggregate per zone and a full re-materialisation on each change; the postgres
-- profile's windowed refresh also assumes fixed-width buckets, which local days with daylight
-- saving are not. A view reads the zone when it is queried, the same way in both profiles.
--
-- Why not the hourly rollups: Asia/Kolkata is UTC+05:30, so local midnight (18:30 UTC) falls
-- inside the 18:00-19:00 UTC hour bucket and an hourly sum would put up to half an hour of
-- energy in the wrong day. Every zone in use today is offset from UTC by a multiple of 15 minutes
-- (Kolkata 5:30, Kathmandu 5:45, Chatham 12:45) and changes offset on such a boundary, so a
-- 15-minute bucket always lies inside one local day: sums of 15-minute buckets are exact.
-- Meters already have meter_energy_5m (5 minutes divide 15); chargers get connector_energy_15m.
-- The price: a local-day query reads 96 rows per connector-day (288 per meter element) instead
-- of one; filter on `time` or local_date to keep long spans cheap.

-- The hourly rollup's own query (as 0005 stored it) with a 15-minute bucket, so the two cannot
-- drift apart.
DO $$
DECLARE
    r wattline_admin.rollups;
    fine text;
BEGIN
    SELECT * INTO STRICT r FROM wattline_admin.rollups WHERE name = 'connector_energy_hourly';
    fine := replace(r.query, $w$INTERVAL '01:00:00'$w$, $w$INTERVAL '00:15:00'$w$);
    IF fine = r.query THEN
        RAISE EXCEPTION 'connector_energy_hourly''s query has no 1-hour bucket to narrow';
    END IF;
    PERFORM wattline_admin.create_rollup('connector_energy_15m', r.source, INTERVAL '15 minutes',
        r.key_columns, fine, INTERVAL '7 days', INTERVAL '15 minutes', INTERVAL '5 minutes');
END $$;

SELECT wattline_admin.comment_relation('wattline.connector_energy_15m',
    'Energy delivered per connector and 15 minutes, from the Energy.Active.Import.Register '
    'readings at the outlet: the sum of each reading''s delta, so buckets add up exactly to '
    'longer spans and a register reset adds 0. Fine enough that every local day is a whole '
    'number of buckets (connector_energy_local_daily sums them). One row per bucket with '
    'readings.');
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT a.attname, col_description(a.attrelid, a.attnum) AS body
               FROM pg_attribute a
              WHERE a.attrelid = 'wattline.connector_energy_hourly'::regclass
                AND a.attnum > 0 AND NOT a.attisdropped
    LOOP
        EXECUTE format('COMMENT ON COLUMN wattline.connector_energy_15m.%I IS %L',
                       c.attname, c.body);
    END LOOP;
END $$;
COMMENT ON COLUMN wattline.connector_energy_15m.bucket IS 'Start of the 15 minutes (timestamptz, UTC edges at :00, :15, :30 and :45)';

-- The zone a device's local days are counted in. charge_points.timezone and
-- meter_registry.timezone are NOT NULL DEFAULT 'UTC', so 'UTC' there mostly means "never set":
-- such a device counts in the site's zone, the database setting wattline.site_tz (set it to the
-- value of WATTLINE_SITE_TZ: ALTER DATABASE wattline SET wattline.site_tz = 'Europe/Berlin'),
-- else Asia/Kolkata, the default of WATTLINE_SITE_TZ. A device that really keeps UTC days while
-- its site does not can say so with 'Etc/UTC'; the UTC days are also in the *_daily rollups.
CREATE FUNCTION wattline.local_zone(device_zone text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(nullif(device_zone, 'UTC'),
                    nullif(current_setting('wattline.site_tz', true), ''),
                    'Asia/Kolkata')
$$;
COMMENT ON FUNCTION wattline.local_zone(text) IS
    'The IANA zone local days are counted in for a device whose timezone column is the argument: '
    'that zone, unless it is the default UTC; then setting wattline.site_tz; else Asia/Kolkata';

-- The postgres profile's rollup table is keyed bucket first; one charge point's days read this
-- instead of every charge point's rows (as 0012 does for the hourly and daily rollups).
DO $$
BEGIN
    IF (SELECT profile FROM wattline_admin.storage) = 'postgres' THEN
        CREATE INDEX connector_energy_15m_charge_point
            ON wattline.connector_energy_15m (charge_point_id, bucket, connector_id)
            INCLUDE (energy_wh);
    END IF;
END $$;

-- A local day's start is its local midnight as a timestamptz: 00:00 IST on 2 March is
-- 2026-03-01 18:30 UTC. Grouping by the local date of each bucket start is exact (see above);
-- the last register of the day is the one of its last bucket.
--
-- Written as functions of a window [lo, hi) of day starts, with views over all time on top: a
-- filter on a view's `time` cannot reach the rollup's bucket index (time is computed from the
-- grouped buckets), so a month of a year's 15-minute rows for 200 charge points took 3-5 s
-- through the view. The functions bound the buckets read to [lo, hi + 26 hours) (no local day
-- is longer than 25 hours) and PostgreSQL inlines them, so the bound reaches the index: 1.1 s
-- for that month of 200 charge points, 6 ms for one. Unbounded (the views), the day filter
-- folds away at planning, as it costs two zone conversions a row.
CREATE FUNCTION wattline.connector_energy_local_days(lo timestamptz, hi timestamptz)
RETURNS TABLE ("time" timestamptz, local_date date, timezone text, charge_point_id text,
               connector_id integer, energy_wh numeric, register_wh numeric, readings bigint)
LANGUAGE sql STABLE AS $$
SELECT d.local_date::timestamp AT TIME ZONE d.timezone,
       d.local_date, d.timezone, d.charge_point_id, d.connector_id,
       d.energy_wh, d.register_wh, d.readings
  FROM (SELECT (r.bucket AT TIME ZONE z.zone)::date AS local_date, z.zone AS timezone,
               r.charge_point_id, r.connector_id,
               sum(r.energy_wh) AS energy_wh,
               (array_agg(r.register_wh ORDER BY r.bucket DESC))[1] AS register_wh,
               sum(r.readings)::bigint AS readings
          FROM wattline.connector_energy_15m r
          LEFT JOIN wattline.charge_points cp ON cp.id = r.charge_point_id
         CROSS JOIN LATERAL (SELECT wattline.local_zone(cp.timezone) AS zone) z
         WHERE r.bucket >= lo AND r.bucket < hi + INTERVAL '26 hours'
         GROUP BY 1, 2, 3, 4) d
 WHERE (lo = '-infinity' OR d.local_date::timestamp AT TIME ZONE d.timezone >= lo)
   AND (hi = 'infinity' OR d.local_date::timestamp AT TIME ZONE d.timezone < hi)
$$;

CREATE FUNCTION wattline.meter_energy_local_days(lo timestamptz, hi timestamptz)
RETURNS TABLE ("time" timestamptz, local_date date, timezone text, meter_id uuid, element text,
               import_wh numeric, export_wh numeric, import_register_wh numeric,
               export_register_wh numeric, readings bigint)
LANGUAGE sql STABLE AS $$
SELECT d.local_date::timestamp AT TIME ZONE d.timezone,
       d.local_date, d.timezone, d.meter_id, d.element,
       d.import_wh, d.export_wh, d.import_register_wh, d.export_register_wh, d.readings
  FROM (SELECT (r.bucket AT TIME ZONE z.zone)::date AS local_date, z.zone AS timezone,
               r.meter_id, r.element,
               sum(r.import_wh) AS import_wh,
               sum(r.export_wh) AS export_wh,
               (array_agg(r.import_register_wh ORDER BY r.bucket DESC))[1]
                   AS import_register_wh,
               (array_agg(r.export_register_wh ORDER BY r.bucket DESC))[1]
                   AS export_register_wh,
               sum(r.readings)::bigint AS readings
          FROM wattline.meter_energy_5m r
          LEFT JOIN wattline.meter_registry g ON g.id = r.meter_id
         CROSS JOIN LATERAL (SELECT wattline.local_zone(g.timezone) AS zone) z
         WHERE r.bucket >= lo AND r.bucket < hi + INTERVAL '26 hours'
         GROUP BY 1, 2, 3, 4) d
 WHERE (lo = '-infinity' OR d.local_date::timestamp AT TIME ZONE d.timezone >= lo)
   AND (hi = 'infinity' OR d.local_date::timestamp AT TIME ZONE d.timezone < hi)
$$;

COMMENT ON FUNCTION wattline.connector_energy_local_days(timestamptz, timestamptz) IS
    'The rows of connector_energy_local_daily whose day starts (time) in [lo, hi), reading only '
    'the 15-minute buckets those days hold: use it for long histories (Grafana: '
    'connector_energy_local_days($__timeFrom(), $__timeTo()))';
COMMENT ON FUNCTION wattline.meter_energy_local_days(timestamptz, timestamptz) IS
    'The rows of meter_energy_local_daily whose day starts (time) in [lo, hi), reading only the '
    '5-minute buckets those days hold';

CREATE VIEW wattline.connector_energy_local_daily AS
SELECT * FROM wattline.connector_energy_local_days('-infinity', 'infinity');

CREATE VIEW wattline.meter_energy_local_daily AS
SELECT * FROM wattline.meter_energy_local_days('-infinity', 'infinity');

SELECT wattline_admin.comment_relation('wattline.connector_energy_local_daily',
    'Energy delivered per connector and local day of its charge point: the day runs from local '
    'midnight to local midnight in the charge point''s timezone, or the site''s zone '
    '(wattline.site_tz, default Asia/Kolkata) when that is the default UTC. Exact sums of '
    'connector_energy_15m. One row per day with readings.');
COMMENT ON COLUMN wattline.connector_energy_local_daily.time IS 'Start of the local day: local midnight as timestamptz (00:00 IST = 18:30 UTC the day before)';
COMMENT ON COLUMN wattline.connector_energy_local_daily.local_date IS 'The local calendar date (date, in timezone)';
COMMENT ON COLUMN wattline.connector_energy_local_daily.timezone IS 'IANA zone the day is counted in (wattline.local_zone of the charge point''s timezone)';
COMMENT ON COLUMN wattline.connector_energy_local_daily.charge_point_id IS 'OCPP identity of the charge point';
COMMENT ON COLUMN wattline.connector_energy_local_daily.connector_id IS 'Connector number (1, 2, ...; 0 is the whole charge point)';
COMMENT ON COLUMN wattline.connector_energy_local_daily.energy_wh IS 'Energy delivered in the local day, Wh (sum of register deltas; suspect deltas held out until accepted)';
COMMENT ON COLUMN wattline.connector_energy_local_daily.register_wh IS 'Last register reading in the local day, Wh (the meter''s lifetime counter)';
COMMENT ON COLUMN wattline.connector_energy_local_daily.readings IS 'Number of register readings in the local day';

SELECT wattline_admin.comment_relation('wattline.meter_energy_local_daily',
    'Energy imported and exported per smart meter element and local day of the meter: the day '
    'runs from local midnight to local midnight in the meter''s timezone, or the site''s zone '
    '(wattline.site_tz, default Asia/Kolkata) when that is the default UTC. Exact sums of '
    'meter_energy_5m. One row per day with readings.');
COMMENT ON COLUMN wattline.meter_energy_local_daily.time IS 'Start of the local day: local midnight as timestamptz (00:00 IST = 18:30 UTC the day before)';
COMMENT ON COLUMN wattline.meter_energy_local_daily.local_date IS 'The local calendar date (date, in timezone)';
COMMENT ON COLUMN wattline.meter_energy_local_daily.timezone IS 'IANA zone the day is counted in (wattline.local_zone of the meter''s timezone)';
COMMENT ON COLUMN wattline.meter_energy_local_daily.meter_id IS 'Meter (meter_registry.id)';
COMMENT ON COLUMN wattline.meter_energy_local_daily.element IS 'Meter element: A, B or SINGLE';
COMMENT ON COLUMN wattline.meter_energy_local_daily.import_wh IS 'Energy imported from the grid in the local day, Wh';
COMMENT ON COLUMN wattline.meter_energy_local_daily.export_wh IS 'Energy exported to the grid in the local day, Wh';
COMMENT ON COLUMN wattline.meter_energy_local_daily.import_register_wh IS 'Last import register reading in the local day, Wh (lifetime counter)';
COMMENT ON COLUMN wattline.meter_energy_local_daily.export_register_wh IS 'Last export register reading in the local day, Wh (lifetime counter)';
COMMENT ON COLUMN wattline.meter_energy_local_daily.readings IS 'Number of register readings in the local day';
