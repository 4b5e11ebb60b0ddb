-- What the dashboard reads (as wattline_reader) and the one thing it writes (operator commands,
-- with the app's own role). Times come back as timestamptz; ids that are uuids come back as
-- text, and money stays numeric, so the pages show exactly what the views computed.

-- dash_charger_cards --
-- One row per connector of every charge point, with the charge point's summary beside it. The
-- open session's energy and money come from the session report (dashboard/sessions.py).
-- connected: a central system process holds its WebSocket now (connected_charge_points, 0025).
SELECT cp.id AS charge_point_id, cp.vendor, cp.model, cp.site, cp.last_seen_at,
       cp.id IN (SELECT charge_point_id FROM wattline.connected_charge_points) AS connected,
       c.connector_id, c.status, c.error_code, c.status_at,
       m.meter_kwh, m.meter_at, m.freshness, m.transaction_id
  FROM wattline.charge_points cp
  LEFT JOIN wattline.connectors c ON c.charge_point_id = cp.id
  LEFT JOIN wattline.connector_meter_status m
         ON m.charge_point_id = c.charge_point_id AND m.connector_id = c.connector_id
 ORDER BY cp.id, c.connector_id;

-- dash_charge_point_version --
-- The OCPP version the charge point last booted with: the commands' messages depend on it.
SELECT coalesce(ocpp_version, '1.6') AS ocpp_version FROM wattline.charge_points
 WHERE id = %(charge_point_id)s;

-- dash_charger_summary --
SELECT charge_point_id,
       charge_point_id IN (SELECT charge_point_id FROM wattline.connected_charge_points)
           AS connected,
       vendor, model, site, registration_status, last_seen_at, sessions,
       energy_kwh, last_stop_at, last_error_code, last_error_at
  FROM wattline.charger_summary
 ORDER BY charge_point_id;

-- dash_connector_status --
-- The live meter status of one charge point's connectors. charger_transaction_id is the id the
-- charger knows the open transaction by (a renumbered offline start keeps its own: ocpp.sql),
-- which is what a RemoteStopTransaction must carry; a 2.0.1 station's RequestStopTransaction
-- carries its own string, station_transaction_id.
SELECT s.connector_id, s.status, s.meter_kwh, s.meter_at, s.meter_age, s.freshness,
       s.transaction_id, coalesce(t.charger_transaction_id, t.id) AS charger_transaction_id,
       t.ocpp_transaction_id AS station_transaction_id, s.started_at, s.duration
  FROM wattline.connector_meter_status s
  LEFT JOIN wattline.transactions t ON t.id = s.transaction_id
 WHERE s.charge_point_id = %(charge_point_id)s
 ORDER BY s.connector_id;

-- dash_charger_energy_hourly --
SELECT bucket, connector_id, (energy_wh / 1000)::float8 AS energy_kwh
  FROM wattline.connector_energy_hourly
 WHERE charge_point_id = %(charge_point_id)s AND bucket >= %(lo)s AND bucket < %(hi)s
 ORDER BY bucket, connector_id;

-- dash_charger_power --
-- Active power in buckets wide enough that a chart never gets more than about 1000 points.
SELECT time_bucket(%(bucket)s::interval, time) AS bucket, connector_id,
       (avg(value) / 1000)::float8 AS power_kw
  FROM wattline.meter_values
 WHERE charge_point_id = %(charge_point_id)s AND measurand = 'Power.Active.Import'
   AND phase = '' AND time >= %(lo)s AND time < %(hi)s
 GROUP BY 1, 2
 ORDER BY 1, 2;

-- dash_ocpp_log --
SELECT time, direction, message_type, action, message_id, coalesce(payload::text, raw) AS payload
  FROM wattline.ocpp_log  -- redacted (0019)
 WHERE charge_point_id = %(charge_point_id)s
 ORDER BY time DESC
 LIMIT %(limit)s;

-- dash_commands --
SELECT id, action, payload::text AS payload, status, requested_by, requested_at, answered_at,
       response::text AS response, error
  FROM wattline.command_log  -- redacted (0019)
 WHERE charge_point_id = %(charge_point_id)s
 ORDER BY id DESC
 LIMIT %(limit)s;

-- dash_request_command --
-- The commands_notify trigger (0006) wakes the central system holding the charge point.
INSERT INTO wattline.commands (charge_point_id, action, payload, requested_by)
VALUES (%(charge_point_id)s, %(action)s, %(payload)s, %(requested_by)s)
RETURNING id;

-- dash_meters --
SELECT r.id::text AS meter_id, r.serial, r.name, r.kind, r.timezone
  FROM wattline.meter_registry r
 ORDER BY r.serial;

-- dash_meters_low_balance --
SELECT serial, name, balance, emergency_credit, balance_updated_at, threshold
  FROM wattline.meters_low_balance
 ORDER BY balance;

-- dash_meters_offline --
SELECT serial, name, last_online, offline_for
  FROM wattline.meters_offline_recently
 ORDER BY last_online NULLS FIRST;

-- dash_meter_health --
-- Signal and clock per meter, flagged by the limits in docs/architecture.md (CSQ < 10, drift > 60 s), and
-- the freshness of its latest register reading (good < 2 min, warning 2-5 min, else stale).
SELECT r.serial, r.name, s.csq, s.csq < 10 AS poor_signal,
       s.clock_time_diff_seconds AS clock_drift_s,
       abs(s.clock_time_diff_seconds) > 60 AS drift_flagged,
       s.voltage, s.health, s.last_seen_at, lr.time AS last_reading_at,
       CASE WHEN lr.time IS NULL THEN 'never'
            WHEN now() - lr.time < INTERVAL '2 minutes' THEN 'good'
            WHEN now() - lr.time <= INTERVAL '5 minutes' THEN 'warning'
            ELSE 'stale' END AS reading_freshness
  FROM wattline.meter_registry r
  LEFT JOIN wattline.meter_shadows s ON s.id = r.id
  LEFT JOIN LATERAL (
        SELECT rr.time FROM wattline.register_readings rr
         WHERE rr.meter_id = r.id ORDER BY rr.time DESC LIMIT 1) lr ON true
 ORDER BY r.serial;

-- dash_meter_tariffs --
SELECT serial, active_standing_charge, active_unit_rate_a, active_unit_rate_b,
       active_emergency_credit, future_standing_charge, future_unit_rate_a, future_unit_rate_b,
       future_activation_datetime
  FROM wattline.meter_shadows_tariffs
 WHERE tariffs_active IS NOT NULL OR tariffs_future IS NOT NULL
 ORDER BY serial;

-- dash_balance_history --
-- A meter's balance, bucketed so the chart stays under about 1000 points. (array_agg, not
-- last(): the postgres profile's last() lives in wattline_admin, which the reader cannot use.)
SELECT time_bucket(%(bucket)s::interval, time) AS bucket,
       ((array_agg(balance ORDER BY time DESC))[1])::float8 AS balance,
       ((array_agg(emergency_credit ORDER BY time DESC))[1])::float8 AS emergency_credit
  FROM wattline.meter_prepay_balance
 WHERE meter_id = %(meter_id)s::uuid AND time >= %(lo)s AND time < %(hi)s
 GROUP BY 1
 ORDER BY 1;

-- dash_balance_daily --
SELECT bucket, min_balance, max_balance, last_balance, last_emergency_credit, readings
  FROM wattline.prepay_balance_daily
 WHERE meter_id = %(meter_id)s::uuid AND bucket >= %(lo)s AND bucket < %(hi)s
 ORDER BY bucket DESC;

-- dash_active_sessions --
-- Open sessions with what only the live view knows: the meter's freshness, how long the session
-- has run and the charger's latest state-of-charge reading. Energy, money and the SOC estimate
-- come from the session report (analytics/session_report_job.py), as everywhere else.
SELECT m.charge_point_id, m.connector_id, m.transaction_id, t.id_tag, m.started_at,
       m.duration, m.freshness, m.meter_at, soc.value AS soc_pct
  FROM wattline.connector_meter_status m
  JOIN wattline.transactions t ON t.id = m.transaction_id
  LEFT JOIN LATERAL (
        SELECT mv.value FROM wattline.meter_values mv
         WHERE mv.charge_point_id = m.charge_point_id AND mv.connector_id = m.connector_id
           AND mv.measurand = 'SoC' AND mv.time >= m.started_at
         ORDER BY mv.time DESC LIMIT 1) soc ON true
 ORDER BY m.charge_point_id, m.connector_id;

-- dash_energy_by_charger_day --
SELECT bucket AS day, charge_point_id, sum(energy_wh / 1000)::float8 AS energy_kwh
  FROM wattline.connector_energy_daily
 WHERE bucket >= %(lo)s AND bucket < %(hi)s
 GROUP BY 1, 2
 ORDER BY 1, 2;

-- dash_energy_by_meter_day --
SELECT e.bucket AS day, r.serial, sum(e.import_wh / 1000)::float8 AS import_kwh,
       sum(e.export_wh / 1000)::float8 AS export_kwh
  FROM wattline.meter_energy_daily e
  JOIN wattline.meter_registry r ON r.id = e.meter_id
 WHERE e.bucket >= %(lo)s AND e.bucket < %(hi)s
 GROUP BY 1, 2
 ORDER BY 1, 2;

-- dash_overview --
-- The fleet at a glance, for the landing page. Energy is the last 24 hours of the hourly
-- rollup (buckets starting in the window), so it adds up with the Reports page's figures.
SELECT (SELECT count(id) FROM wattline.charge_points) AS chargers,
       (SELECT count(*) FROM wattline.connected_charge_points) AS connected,
       (SELECT count(*) FROM wattline.connector_meter_status
         WHERE transaction_id IS NOT NULL) AS charging,
       (SELECT count(*) FROM wattline.connectors WHERE status = 'Faulted') AS faulted,
       (SELECT coalesce(sum(energy_wh), 0) / 1000 FROM wattline.connector_energy_hourly
         WHERE bucket >= now() - INTERVAL '24 hours')::float8 AS energy_24h_kwh,
       (SELECT count(*) FROM wattline.meter_registry) AS meters,
       (SELECT count(*) FROM wattline.meters_low_balance) AS low_balance,
       (SELECT count(*) FROM wattline.meters_offline_recently) AS offline,
       (SELECT count(*) FROM wattline.alerts WHERE resolved_at IS NULL) AS open_alerts,
       now() AS as_of;

-- dash_data_as_of --
-- How fresh the pages' data are: the newest register reading of any charger connector (kept on
-- the connector row by the ingest, as connector_meter_status shows it) and of any meter (per
-- meter, through its index: a max over the whole series would scan it), and the database's
-- clock, so the age shown does not depend on the dashboard host's clock.
SELECT (SELECT max(last_meter_at) FROM wattline.connectors) AS charger_reading_at,
       (SELECT max(lr.time) FROM wattline.meter_registry r
          CROSS JOIN LATERAL (
                SELECT rr.time FROM wattline.register_readings rr
                 WHERE rr.meter_id = r.id ORDER BY rr.time DESC LIMIT 1) lr) AS meter_reading_at,
       now() AS now;

-- dash_charge_points_online --
-- Every charge point and whether a central system holds its connection now (0025): commands
-- go only where one does.
WITH connected AS MATERIALIZED (SELECT charge_point_id FROM wattline.connected_charge_points)
SELECT cp.id AS charge_point_id, cp.id IN (SELECT charge_point_id FROM connected) AS connected,
       cp.last_seen_at
  FROM wattline.charge_points cp
 ORDER BY cp.id;

-- dash_charger_latest_reading --
-- The newest energy register of the chosen charge points: how fresh their rollups can be.
SELECT max(last_meter_at) AS latest
  FROM wattline.connectors
 WHERE charge_point_id = ANY (%(charge_point_ids)s::text[]);
