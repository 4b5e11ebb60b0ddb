-- Analytics (analytics/): what the Polars jobs read, and the charger, meter and data-quality
-- reports that take parameters (a window, chosen chargers, a page). Views in 0010_analytics.sql.

-- report_window --
-- The span the transactions with the given ids can have register readings in, for the constant
-- scan bounds of report_transactions (0038): from the earliest start to the latest stop, or to
-- infinity while one is open.
-- As text: psycopg cannot load an infinite timestamptz, and the value only goes back as a bound.
SELECT coalesce(min(coalesce(started_at, stopped_at))::text, 'infinity') AS scan_from,
       CASE WHEN bool_or(stopped_at IS NULL) THEN 'infinity'
            ELSE coalesce(max(stopped_at)::text, '-infinity') END AS scan_to
  FROM wattline.transactions WHERE id = ANY (%(ids)s::int[]);

-- report_transactions --
-- Transactions starting in [lo, hi) (orphans by their stop), with the connector's tariff and
-- power, the charge point's time zone and the connector's latest main register inside the
-- transaction (latest_main_register, as the session_report view finds it) with the energy its
-- deltas counted since the start (register_wh, as the view), for analytics/session_report.py.
-- Or the transactions with the given ids (the API's session pages and details); the planner
-- folds the branch not taken, as long as the statement is planned with its values (never
-- prepared generic: see api/database.py). scan_from and scan_to bound every register look-up
-- with constants, so TimescaleDB plans only the chunks between them (0038); they never change
-- a figure, only how much is planned. The car and the tariff come along (the last six columns),
-- so one session's details are two round trips: this and report_window.
SELECT t.id AS transaction_id, t.charge_point_id, t.connector_id, t.id_tag, t.orphan,
       t.started_at, t.stopped_at, t.stop_reason, t.meter_start_wh, t.meter_stop_wh,
       t.manual_meter_stop_wh, c.tariff_id, c.max_power_kw AS connector_max_kw,
       coalesce(cp.timezone, 'UTC') AS timezone,
       lr.value AS latest_register_wh, lr.time AS latest_register_at,
       CASE WHEN t.meter_stop_wh IS NULL AND lr.value IS NOT NULL
            THEN wattline.session_register_wh(t.charge_point_id, t.connector_id, t.started_at,
                                              lr.time, %(scan_from)s, %(scan_to)s) END
            AS register_wh,
       v.battery_kwh, v.km_per_kwh,
       tf.currency, tf.energy_rate, tf.tax_rate, tf.bands
  FROM wattline.transactions t
  LEFT JOIN wattline.connectors c
         ON c.charge_point_id = t.charge_point_id AND c.connector_id = t.connector_id
  LEFT JOIN wattline.charge_points cp ON cp.id = t.charge_point_id
  LEFT JOIN wattline.vehicles v ON v.id_tag = t.id_tag
  LEFT JOIN wattline.tariffs tf ON tf.id = c.tariff_id
  LEFT JOIN LATERAL wattline.latest_main_register(
        t.charge_point_id, t.connector_id, t.started_at, t.stopped_at,
        %(scan_from)s, %(scan_to)s) lr ON true
 WHERE (%(ids)s::int[] IS NULL
        AND coalesce(t.started_at, t.stopped_at) >= %(lo)s
        AND coalesce(t.started_at, t.stopped_at) < %(hi)s)
    OR t.id = ANY (%(ids)s::int[])
 ORDER BY t.id;

-- report_session_page --
-- One page of session ids, newest first, with the count of all that match: the API's session
-- list and the dashboard's transactions table, whose figures then come from report_transactions.
SELECT t.id AS transaction_id, count(*) OVER () AS total
  FROM wattline.transactions t
 WHERE (%(charge_point_id)s::text IS NULL OR t.charge_point_id = %(charge_point_id)s::text)
   AND (%(id_tag)s::text IS NULL OR t.id_tag = %(id_tag)s::text)
   AND (%(account_id)s::text IS NULL OR t.id_tag IN (
            SELECT g.id_tag FROM wattline.id_tags g WHERE g.account_id = %(account_id)s::text))
   AND (%(lo)s::timestamptz IS NULL OR coalesce(t.started_at, t.stopped_at) >= %(lo)s)
   AND (%(hi)s::timestamptz IS NULL OR coalesce(t.started_at, t.stopped_at) < %(hi)s)
   AND (%(open)s::boolean IS NULL OR (t.stopped_at IS NULL) = %(open)s::boolean)
 ORDER BY coalesce(t.started_at, t.stopped_at) DESC, t.id DESC
 LIMIT %(limit)s OFFSET %(offset)s;

-- report_registers --
-- The connector's main energy register inside each of those transactions whose connector has
-- one of the given tariffs (the time-of-use ones: the others need only the latest register).
-- OFFSET 0 keeps the lateral subquery from being flattened into a join the planner would run as
-- a scan of all meter values; this way each session is one range scan of meter_values_key.
-- scan_from and scan_to: constant bounds, as in report_transactions.
SELECT t.id AS transaction_id, m.time, m.value, m.delta
  FROM wattline.transactions t
  JOIN wattline.connectors c
    ON c.charge_point_id = t.charge_point_id AND c.connector_id = t.connector_id
 CROSS JOIN LATERAL (
        SELECT m.time, m.value, m.delta FROM wattline.meter_values m
         WHERE m.charge_point_id = t.charge_point_id AND m.connector_id = t.connector_id
           AND m.measurand = 'Energy.Active.Import.Register' AND m.phase = ''
           AND m.location = 'Outlet'
           AND m.time >= t.started_at AND m.time <= coalesce(t.stopped_at, 'infinity')
           AND m.time >= %(scan_from)s AND m.time <= %(scan_to)s
        OFFSET 0) m
 WHERE ((%(ids)s::int[] IS NULL AND t.started_at >= %(lo)s AND t.started_at < %(hi)s)
        OR t.id = ANY (%(ids)s::int[]))
   AND c.tariff_id = ANY (%(tariff_ids)s::text[]);

-- report_tariffs --
SELECT id AS tariff_id, currency, energy_rate, tax_rate, bands FROM wattline.tariffs;

-- report_vehicles --
-- Every car, or only those of the transactions with the given ids (bench/analytics.py's naive
-- comparison; the report takes each session's car from report_transactions).
SELECT id_tag, battery_kwh, km_per_kwh FROM wattline.vehicles
 WHERE %(ids)s::int[] IS NULL
    OR id_tag IN (SELECT id_tag FROM wattline.transactions WHERE id = ANY (%(ids)s::int[]));

-- save_tariff --
INSERT INTO wattline.tariffs (id, currency, energy_rate, tax_rate, bands)
VALUES (%(tariff_id)s, %(currency)s, %(energy_rate)s, %(tax_rate)s, %(bands)s)
ON CONFLICT (id) DO UPDATE
   SET currency = EXCLUDED.currency, energy_rate = EXCLUDED.energy_rate,
       tax_rate = EXCLUDED.tax_rate, bands = EXCLUDED.bands;

-- assign_tariff --
-- The connector row may not exist yet (no StatusNotification so far); its charge point must.
INSERT INTO wattline.connectors (charge_point_id, connector_id, tariff_id)
VALUES (%(charge_point_id)s, %(connector_id)s, %(tariff_id)s)
ON CONFLICT (charge_point_id, connector_id) DO UPDATE SET tariff_id = EXCLUDED.tariff_id;

-- meter_by_serial --
SELECT id::text AS meter_id, timezone FROM wattline.meter_registry WHERE serial = %(serial)s;

-- estimator_readings --
-- A meter's net power and net energy per reading time (all elements together) in [lo, hi], for
-- the live settlement estimator (analytics/estimator.py: window, estimate_recent) in the CLI,
-- the dashboard and the API alike: export − import, positive while exporting.
SELECT time,
       sum(coalesce(export_w, 0) - coalesce(import_w, 0))::float8 AS net_power_w,
       sum(coalesce(delta_export_wh, 0) - coalesce(delta_import_wh, 0))::float8 AS delta_net_wh
  FROM wattline.register_readings
 WHERE meter_id = %(meter_id)s::uuid AND time >= %(lo)s AND time <= %(hi)s
 GROUP BY time
 ORDER BY time;

-- charger_transactions --
-- One page of a charge point's sessions started in [lo, hi), newest first; total_rows counts
-- the whole window, for "page 2 of 7"
SELECT r.*, count(*) OVER () AS total_rows
  FROM wattline.session_report r
 WHERE r.charge_point_id = %(charge_point_id)s
   AND r.started_at >= %(lo)s AND r.started_at < %(hi)s
 ORDER BY r.started_at DESC, r.transaction_id DESC
 LIMIT %(limit)s OFFSET %(offset)s;

-- charger_energy --
-- Energy per chosen charge point and bucket (width 'hourly' or 'daily', UTC days) in [lo, hi),
-- summed over its connectors, from the connector energy rollups
SELECT e.bucket, e.charge_point_id, sum(e.energy_wh) AS energy_wh, sum(e.readings) AS readings
  FROM (SELECT 'hourly' AS width, h.bucket, h.charge_point_id, h.energy_wh, h.readings
          FROM wattline.connector_energy_hourly h
        UNION ALL
        SELECT 'daily', d.bucket, d.charge_point_id, d.energy_wh, d.readings
          FROM wattline.connector_energy_daily d) e
 WHERE e.width = %(width)s AND e.charge_point_id = ANY (%(charge_point_ids)s::text[])
   AND e.bucket >= %(lo)s AND e.bucket < %(hi)s
 GROUP BY e.bucket, e.charge_point_id
 ORDER BY e.charge_point_id, e.bucket;

-- charger_availability --
-- Per connector over [lo, hi): time in a usable status (Available, Preparing, Charging,
-- Suspended*, Finishing, Reserved; OCPP 2.0.1's Occupied) against time Unavailable or Faulted
-- (names both versions share), from the status history.
-- The status in force at lo counts from lo; time before a connector's first known status is
-- unknown and left out. Charge points: a list, or NULL for all.
WITH carried AS (
    SELECT DISTINCT ON (n.charge_point_id, n.connector_id)
           n.charge_point_id, n.connector_id, %(lo)s::timestamptz AS time, n.status, 0 AS tie
      FROM wattline.status_notifications n
     WHERE n.time < %(lo)s
       AND (%(charge_point_ids)s::text[] IS NULL OR n.charge_point_id = ANY (%(charge_point_ids)s))
     ORDER BY n.charge_point_id, n.connector_id, n.time DESC
), ev AS (
    TABLE carried
    UNION ALL
    SELECT n.charge_point_id, n.connector_id, n.time, n.status, 1
      FROM wattline.status_notifications n
     WHERE n.time >= %(lo)s AND n.time < %(hi)s
       AND (%(charge_point_ids)s::text[] IS NULL OR n.charge_point_id = ANY (%(charge_point_ids)s))
), spans AS (
    SELECT ev.*, extract(epoch FROM coalesce(
               lead(time) OVER (PARTITION BY charge_point_id, connector_id ORDER BY time, tie),
               %(hi)s::timestamptz) - time) AS held_s
      FROM ev
), sums AS (
    SELECT charge_point_id, connector_id,
           coalesce(sum(held_s) FILTER (WHERE status NOT IN ('Unavailable', 'Faulted')), 0) AS up_s,
           coalesce(sum(held_s) FILTER (WHERE status IN ('Unavailable', 'Faulted')), 0) AS down_s,
           count(*) FILTER (WHERE tie = 1) AS changes
      FROM spans GROUP BY charge_point_id, connector_id
)
SELECT charge_point_id, connector_id, up_s, down_s, changes,
       round(100 * up_s / nullif(up_s + down_s, 0), 1) AS availability_pct
  FROM sums
 ORDER BY charge_point_id, connector_id;

-- charger_clock_drift --
-- Per charge point over what we received in [lo, hi): its clock minus ours (seconds; positive =
-- ahead) from meter values, status notifications and transaction starts and stops. The median
-- resists batches sent late (an offline backlog looks like a clock far behind); flagged when
-- |median| > wattline.clock_drift_limit_s (default 60).
WITH samples AS (
    SELECT charge_point_id, received_at, extract(epoch FROM time - received_at) AS drift_s
      FROM wattline.meter_values WHERE received_at >= %(lo)s AND received_at < %(hi)s
    UNION ALL
    SELECT charge_point_id, received_at, extract(epoch FROM time - received_at)
      FROM wattline.status_notifications WHERE received_at >= %(lo)s AND received_at < %(hi)s
    UNION ALL
    SELECT charge_point_id, start_received_at, extract(epoch FROM started_at - start_received_at)
      FROM wattline.transactions
     WHERE start_received_at >= %(lo)s AND start_received_at < %(hi)s
    UNION ALL
    SELECT charge_point_id, stop_received_at, extract(epoch FROM stopped_at - stop_received_at)
      FROM wattline.transactions
     WHERE stop_received_at >= %(lo)s AND stop_received_at < %(hi)s
), d AS (
    SELECT charge_point_id, count(*) AS samples,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY drift_s::float8) AS median_s,
           max(abs(drift_s)) AS max_abs_s,
           (array_agg(drift_s ORDER BY received_at DESC))[1] AS latest_s
      FROM samples GROUP BY charge_point_id
)
SELECT charge_point_id, samples, round(median_s::numeric, 1) AS median_drift_s,
       round(max_abs_s, 1) AS max_abs_drift_s, round(latest_s, 1) AS latest_drift_s,
       abs(median_s) > wattline.setting('clock_drift_limit_s', 60) AS drift_flagged
  FROM d ORDER BY charge_point_id;

-- completeness_counts --
-- Samples received per device and UTC day in [lo, hi): each connector's main energy register
-- and each meter (its registers read together count once per time). first_seen is when the
-- device was first known: the earlier of its registration (the charge point's first connection,
-- the meter's registry row) and its first sample in the window (history loaded after the fact
-- is older than the registration). Days before it are not the device's gaps.
-- (Counted first, joined after: the join then runs once per device and day, not per sample.)
WITH c AS (
    SELECT charge_point_id, connector_id, date_trunc('day', time, 'UTC') AS day,
           count(*) AS received, min(time) AS first_sample
      FROM wattline.meter_values
     WHERE measurand = 'Energy.Active.Import.Register' AND phase = '' AND location = 'Outlet'
       AND time >= %(lo)s AND time < %(hi)s
     GROUP BY 1, 2, 3
), m AS (
    SELECT meter_id, date_trunc('day', time, 'UTC') AS day, count(DISTINCT time) AS received,
           min(time) AS first_sample
      FROM wattline.register_readings
     WHERE time >= %(lo)s AND time < %(hi)s
     GROUP BY 1, 2
)
SELECT 'connector' AS device_kind, c.charge_point_id || ':' || c.connector_id AS device, c.day,
       c.received,
       least(cp.first_seen_at,
             min(c.first_sample) OVER (PARTITION BY c.charge_point_id, c.connector_id))
           AS first_seen
  FROM c LEFT JOIN wattline.charge_points cp ON cp.id = c.charge_point_id
UNION ALL
SELECT 'meter', g.serial, m.day, m.received,
       least(g.created_at, min(m.first_sample) OVER (PARTITION BY m.meter_id))
  FROM m JOIN wattline.meter_registry g ON g.id = m.meter_id;
