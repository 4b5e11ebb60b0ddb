-- Alert rules (analytics/alerts.py) and the statements that open and resolve alerts. Each rule
-- returns the subjects for which it holds now: subject_kind, subject_id, severity, details.
-- Thresholds are wattline.setting()s (0008): the alerts job sets those given in its
-- environment for its own transaction; otherwise ALTER DATABASE ... SET applies, else the
-- default written here. The meter rules read the same views as the dashboard's Meter health
-- page, so a meter listed there as low or offline is the one alerted on.

-- alert_rule_low_balance --
-- Prepayment meters under wattline.low_balance_threshold (default 5.00); critical at or below 0
-- (emergency credit or off supply).
SELECT 'meter' AS subject_kind, serial AS subject_id,
       CASE WHEN balance <= 0 THEN 'critical' ELSE 'warning' END AS severity,
       jsonb_build_object('balance', balance, 'emergency_credit', emergency_credit,
                          'threshold', threshold, 'balance_at', balance_updated_at) AS details
  FROM wattline.meters_low_balance;

-- alert_rule_days_to_empty --
-- Prepayment meters whose credit runs out, at the burn rate of meter_burn_rate (0010), in fewer
-- than wattline.alert_days_to_empty days (default 3).
SELECT 'meter' AS subject_kind, serial AS subject_id, 'warning' AS severity,
       jsonb_build_object('days_until_empty', days_until_empty, 'burn_per_day', burn_per_day,
                          'balance', balance, 'runs_out_at', runs_out_at,
                          'threshold_days', wattline.setting('alert_days_to_empty', 3))
           AS details
  FROM wattline.meter_burn_rate
 WHERE days_until_empty < wattline.setting('alert_days_to_empty', 3);

-- alert_rule_meter_offline --
-- Active meters not heard from for wattline.offline_after_minutes (default 60). A meter never
-- heard from is left out: meters are registered before they are installed (wattline meter add).
SELECT 'meter' AS subject_kind, serial AS subject_id, 'warning' AS severity,
       jsonb_build_object('last_seen_at', last_online,
                          'offline_minutes', round(extract(epoch FROM offline_for) / 60),
                          'threshold_minutes', wattline.setting('offline_after_minutes', 60))
           AS details
  FROM wattline.meters_offline_recently
 WHERE last_online IS NOT NULL;

-- alert_rule_charger_offline --
-- Accepted charge points not seen for wattline.alert_heartbeat_misses (default 3) heartbeat
-- intervals (wattline.heartbeat_interval_s: what BootNotification tells them, 300 s). A
-- connected charge point sends at least a heartbeat each interval.
SELECT 'charge_point' AS subject_kind, id AS subject_id, 'critical' AS severity,
       jsonb_build_object('last_seen_at', last_seen_at,
                          'threshold_s', wattline.setting('alert_heartbeat_misses', 3)
                                         * wattline.setting('heartbeat_interval_s', 300))
           AS details
  FROM wattline.charge_points
 WHERE registration_status = 'Accepted'
   AND last_seen_at < now() - wattline.setting('alert_heartbeat_misses', 3)
                              * wattline.setting('heartbeat_interval_s', 300)
                              * INTERVAL '1 second';

-- alert_rule_charger_faulted --
-- Connectors whose latest StatusNotification said Faulted (connector 0: the whole charge point).
SELECT 'connector' AS subject_kind, charge_point_id || ':' || connector_id AS subject_id,
       'critical' AS severity,
       jsonb_build_object('error_code', error_code, 'since', status_at) AS details
  FROM wattline.connectors
 WHERE status = 'Faulted';

-- alert_upsert --
-- Opens an alert for each current subject of the rule that has none open, and refreshes those
-- still open (ON CONFLICT: also when another evaluator opened it first, after waiting for it to
-- commit). Every alert seen gets last_seen_at = now(), this transaction's time, which
-- alert_resolve relies on. Returns the opened ones (xmax = 0 marks a row this statement
-- inserted), the events to post.
WITH cur AS (
    SELECT * FROM jsonb_to_recordset(%(current)s::jsonb)
        AS c (subject_kind text, subject_id text, severity text, details jsonb)
), upserted AS (
    INSERT INTO wattline.alerts AS a (rule, subject_kind, subject_id, severity, details,
                                      opened_at, last_seen_at)
    SELECT %(rule)s, subject_kind, subject_id, severity, details, now(), now() FROM cur
    ON CONFLICT (rule, subject_kind, subject_id) WHERE resolved_at IS NULL
    DO UPDATE SET last_seen_at = now(), severity = EXCLUDED.severity, details = EXCLUDED.details
    RETURNING a.*, a.xmax = 0 AS inserted
)
SELECT 'opened' AS event, id, rule, subject_kind, subject_id, severity, opened_at, resolved_at,
       details
  FROM upserted WHERE inserted
 ORDER BY subject_kind, subject_id;

-- alert_resolve --
-- Resolves the rule's open alerts that alert_upsert did not see in this transaction. (An
-- anti-join against the current subjects instead ran as a nested loop, 3 s for 5,000 open
-- alerts: the planner takes jsonb_to_recordset for 100 rows.)
UPDATE wattline.alerts SET resolved_at = now()
 WHERE rule = %(rule)s AND resolved_at IS NULL AND last_seen_at <> now()
RETURNING 'resolved' AS event, id, rule, subject_kind, subject_id, severity, opened_at,
          resolved_at, details;

-- alert_dead_letter --
INSERT INTO wattline.alert_dead_letters (alert_id, event, payload, attempts, last_error)
VALUES (%(alert_id)s, %(event)s, %(payload)s, %(attempts)s, %(last_error)s);

-- alerts_open --
-- Open alerts, the most severe and then the oldest first (dashboard, `wattline alerts`).
SELECT id, rule, subject_kind, subject_id, severity, opened_at, last_seen_at, details::text AS details
  FROM wattline.alerts
 WHERE resolved_at IS NULL
 ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, opened_at, id;

-- alerts_recently_resolved --
SELECT id, rule, subject_kind, subject_id, severity, opened_at, resolved_at, details::text AS details
  FROM wattline.alerts
 WHERE resolved_at >= now() - INTERVAL '7 days'
 ORDER BY resolved_at DESC, id DESC
 LIMIT 200;

-- alert_dead_letters_recent --
SELECT id, alert_id, event, attempts, last_error, failed_at, payload::text AS payload
  FROM wattline.alert_dead_letters
 ORDER BY failed_at DESC, id DESC
 LIMIT 200;
