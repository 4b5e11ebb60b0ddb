-- What the HTTP API (api/) reads and writes beyond the named queries it shares with the CLI and
-- the dashboard. Optional filters are `%(x)s IS NULL OR ...`: the API never prepares statements
-- (api/database.py), so each is planned with its values and the unused filters fold away.
-- An account id (%(account_id)s) limits a `self` token to its own meters, id tags and sessions.

-- api_charge_points --
-- Charge points with their connectors and whether a central system holds their connection now.
WITH connected AS MATERIALIZED (SELECT charge_point_id FROM wattline.connected_charge_points)
SELECT cp.id AS charge_point_id, cp.vendor, cp.model, cp.serial, cp.firmware, cp.site,
       cp.timezone, cp.registration_status, cp.first_seen_at, cp.last_boot_at, cp.last_seen_at,
       cp.id IN (SELECT charge_point_id FROM connected) AS connected,
       coalesce((SELECT jsonb_agg(jsonb_build_object(
                            'connectorId', c.connector_id, 'status', c.status,
                            'errorCode', c.error_code, 'statusAt', c.status_at,
                            'tariffId', c.tariff_id, 'maxPowerKw', c.max_power_kw)
                        ORDER BY c.connector_id)
                   FROM wattline.connectors c WHERE c.charge_point_id = cp.id), '[]')
           AS connectors,
       count(*) OVER () AS total
  FROM wattline.charge_points cp
 WHERE (%(charge_point_id)s::text IS NULL OR cp.id = %(charge_point_id)s::text)
   AND (%(connected)s::boolean IS NULL
        OR (cp.id IN (SELECT charge_point_id FROM connected)) = %(connected)s::boolean)
 ORDER BY cp.id
 LIMIT %(limit)s OFFSET %(offset)s;

-- api_connector_meter_status --
SELECT charge_point_id, connector_id, status, meter_kwh, meter_at,
       extract(epoch FROM meter_age)::float8 AS meter_age_s, freshness, transaction_id,
       started_at, energy_since_start_kwh, estimated_cost, currency,
       extract(epoch FROM duration)::float8 AS duration_s
  FROM wattline.connector_meter_status
 WHERE charge_point_id = %(charge_point_id)s AND connector_id = %(connector_id)s;

-- api_session_owner --
-- A session's id tag and the account owning it (NULL: nobody's), for self tokens.
SELECT t.id AS transaction_id, t.id_tag, g.account_id
  FROM wattline.transactions t
  LEFT JOIN wattline.id_tags g ON g.id_tag = t.id_tag
 WHERE t.id = %(transaction_id)s;

-- api_account_id_tags --
SELECT id_tag FROM wattline.id_tags WHERE account_id = %(account_id)s ORDER BY id_tag;

-- api_manual_meter_stop --
-- An operator's reading of the end register: the last of the end-register priority.
UPDATE wattline.transactions SET manual_meter_stop_wh = %(wh)s
 WHERE id = %(transaction_id)s
RETURNING id AS transaction_id, meter_start_wh;

-- api_id_tag --
SELECT id_tag, status, expiry, parent, owner, account_id FROM wattline.id_tags
 WHERE id_tag = %(id_tag)s;

-- api_save_vehicle --
INSERT INTO wattline.vehicles (id_tag, battery_kwh, km_per_kwh)
VALUES (%(id_tag)s, %(battery_kwh)s, %(km_per_kwh)s)
ON CONFLICT (id_tag) DO UPDATE
   SET battery_kwh = EXCLUDED.battery_kwh, km_per_kwh = EXCLUDED.km_per_kwh
RETURNING id_tag, battery_kwh, km_per_kwh;

-- api_meters --
-- Meters with their shadow and the flags the filters use: low balance and offline as the views
-- meters_low_balance and meters_offline_recently define them (thresholds in wattline.setting),
-- unhealthy as the dashboard flags health (reported unhealthy, poor signal or a drifting clock).
WITH m AS (
    SELECT r.id::text AS meter_id, r.serial, r.name, r.kind, r.mode, r.site, r.timezone,
           r.account_id, r.created_at, s.balance, s.emergency_credit, s.balance_updated_at,
           s.health, s.csq, s.clock_time_diff_seconds, s.voltage, s.last_seen_at,
           r.id IN (SELECT meter_id FROM wattline.meters_low_balance) AS low_balance,
           r.id IN (SELECT meter_id FROM wattline.meters_offline_recently) AS offline,
           coalesce(s.health = 'unhealthy'
                    OR s.csq < wattline.setting('csq_poor_below', 10)
                    OR abs(s.clock_time_diff_seconds) > wattline.setting('clock_drift_limit_s', 60),
                    false) AS unhealthy
      FROM wattline.meter_registry r
      LEFT JOIN wattline.meter_shadows s ON s.id = r.id
     WHERE (%(account_id)s::text IS NULL OR r.account_id = %(account_id)s::text)
       AND (%(meter)s::text IS NULL OR r.serial = %(meter)s::text OR r.id::text = %(meter)s::text)
)
SELECT m.*, count(*) OVER () AS total FROM m
 WHERE (%(low_balance)s::boolean IS NULL OR low_balance = %(low_balance)s::boolean)
   AND (%(offline)s::boolean IS NULL OR offline = %(offline)s::boolean)
   AND (%(unhealthy)s::boolean IS NULL OR unhealthy = %(unhealthy)s::boolean)
 ORDER BY serial
 LIMIT %(limit)s OFFSET %(offset)s;

-- api_meter_tariffs --
SELECT tariffs_active, tariffs_future, active_standing_charge, active_unit_rate_a,
       active_unit_rate_b, active_ecredit_availability, active_debt_recovery_rate,
       active_emergency_credit, future_standing_charge, future_unit_rate_a, future_unit_rate_b,
       future_activation_datetime
  FROM wattline.meter_shadows_tariffs WHERE id = %(meter_id)s::uuid;

-- api_meter_registers --
SELECT register_id::text AS register_id, element, status, direction_reversed, created_at,
       replaced_at
  FROM wattline.meter_registers WHERE meter_id = %(meter_id)s::uuid
 ORDER BY element, created_at;

-- api_estimator_meter --
-- The meter the settlement estimator reads: the one asked for (by serial or id), else the
-- account's first (registered first, then by serial).
SELECT r.id::text AS meter_id, r.serial, r.timezone
  FROM wattline.meter_registry r
 WHERE (%(account_id)s::text IS NULL OR r.account_id = %(account_id)s::text)
   AND (%(meter)s::text IS NULL OR r.serial = %(meter)s::text OR r.id::text = %(meter)s::text)
   AND (%(meter)s::text IS NOT NULL OR r.account_id IS NOT NULL)
 ORDER BY r.created_at, r.serial
 LIMIT 1;

-- api_meter_readings --
-- A meter's readings in [lo, hi) summed over its elements per reading time, then in buckets
-- (the API picks the width so there are at most 1,000): energy is the sum of the deltas, power
-- the mean of the readings.
WITH per_time AS (
    SELECT time, sum(coalesce(delta_import_wh, 0)) AS import_wh,
           sum(coalesce(delta_export_wh, 0)) AS export_wh,
           sum(import_w) AS import_w, sum(export_w) AS export_w
      FROM wattline.register_readings
     WHERE meter_id = %(meter_id)s::uuid AND time >= %(lo)s AND time < %(hi)s
     GROUP BY time
)
SELECT time_bucket(%(bucket)s::interval, time) AS bucket, count(*) AS readings,
       sum(import_wh) AS import_wh, sum(export_wh) AS export_wh,
       round(avg(import_w), 1) AS import_w, round(avg(export_w), 1) AS export_w
  FROM per_time
 GROUP BY 1
 ORDER BY 1;

-- api_settlement_history --
SELECT period_start, period_end, import_wh, export_wh, net_wh, status, tokens, computed_at,
       count(*) OVER () AS total
  FROM wattline.settlement_periods
 WHERE meter_id = %(meter_id)s::uuid
   AND (%(lo)s::timestamptz IS NULL OR period_start >= %(lo)s)
   AND (%(hi)s::timestamptz IS NULL OR period_start < %(hi)s)
 ORDER BY period_start DESC
 LIMIT %(limit)s OFFSET %(offset)s;

-- api_latest_registers --
-- Each enabled register's latest reading (one backward step of register_readings_key each).
SELECT g.element, lr.time, lr.import_wh, lr.export_wh, lr.import_w, lr.export_w
  FROM wattline.meter_registers g
 CROSS JOIN LATERAL (
        SELECT r.time, r.import_wh, r.export_wh, r.import_w, r.export_w
          FROM wattline.register_readings r
         WHERE r.register_id = g.register_id
         ORDER BY r.time DESC LIMIT 1) lr
 WHERE g.meter_id = %(meter_id)s::uuid AND g.status = 'enabled'
 ORDER BY g.element;

-- api_energy_since --
SELECT coalesce(sum(delta_import_wh), 0) AS import_wh,
       coalesce(sum(delta_export_wh), 0) AS export_wh
  FROM wattline.register_readings
 WHERE meter_id = %(meter_id)s::uuid AND time >= %(since)s;

-- api_charge_point_exists --
SELECT id FROM wattline.charge_points WHERE id = %(charge_point_id)s;

-- api_command --
-- A command as the reader sees it: secrets redacted (0019).
SELECT id, charge_point_id, action, payload, status, requested_by, requested_at, sent_at,
       answered_at, response, error
  FROM wattline.command_log WHERE id = %(id)s;

-- api_admin_charge_points --
SELECT id AS charge_point_id, registration_status, security_profile,
       password_hash IS NOT NULL AS has_password, vendor, model, site, timezone, max_power_kw,
       first_seen_at, last_seen_at, count(*) OVER () AS total
  FROM wattline.charge_points
 ORDER BY id
 LIMIT %(limit)s OFFSET %(offset)s;

-- api_id_tags --
SELECT id_tag, status, expiry, parent, owner, account_id, count(*) OVER () AS total
  FROM wattline.id_tags
 ORDER BY id_tag
 LIMIT %(limit)s OFFSET %(offset)s;

-- api_set_id_tag_account --
UPDATE wattline.id_tags SET account_id = %(account_id)s WHERE id_tag = %(id_tag)s;

-- api_tariffs --
SELECT t.id AS tariff_id, t.currency, t.energy_rate, t.tax_rate, t.bands,
       coalesce((SELECT jsonb_agg(jsonb_build_object('chargePointId', c.charge_point_id,
                                                     'connectorId', c.connector_id)
                                  ORDER BY c.charge_point_id, c.connector_id)
                   FROM wattline.connectors c WHERE c.tariff_id = t.id), '[]') AS connectors,
       count(*) OVER () AS total
  FROM wattline.tariffs t
 WHERE %(tariff_id)s::text IS NULL OR t.id = %(tariff_id)s::text
 ORDER BY t.id
 LIMIT %(limit)s OFFSET %(offset)s;

-- api_update_meter --
-- What `wattline meter add` does not set: name, time zone and owner (NULL keeps the name and
-- time zone; the owner is set as given).
UPDATE wattline.meter_registry
   SET name = coalesce(%(name)s, name), timezone = coalesce(%(timezone)s, timezone),
       account_id = %(account_id)s, updated_at = now()
 WHERE serial = %(serial)s
RETURNING id::text AS meter_id;

-- api_save_account --
INSERT INTO wattline.accounts (id, name) VALUES (%(account_id)s, %(name)s)
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name
RETURNING id AS account_id, name, created_at;

-- api_accounts --
SELECT a.id AS account_id, a.name, a.created_at,
       (SELECT count(*) FROM wattline.meter_registry r WHERE r.account_id = a.id) AS meters,
       (SELECT count(*) FROM wattline.id_tags g WHERE g.account_id = a.id) AS id_tags,
       count(*) OVER () AS total
  FROM wattline.accounts a
 ORDER BY a.id
 LIMIT %(limit)s OFFSET %(offset)s;

-- api_ready --
SELECT 1 AS ready;
