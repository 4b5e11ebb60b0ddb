-- The OCPP central system's current-state updates and look-ups. Updates run in the writer's
-- batches (committed with the series rows, replayed from the spool in order), so each one is
-- idempotent and keeps the newest event by the charger's clock, not by arrival.

-- touch_charge_point --
-- Every message proves the charge point exists and is alive; rows it refers to need it (FKs).
INSERT INTO wattline.charge_points (id, first_seen_at, last_seen_at)
VALUES (%(charge_point_id)s, %(seen_at)s, %(seen_at)s)
ON CONFLICT (id) DO UPDATE
   SET last_seen_at = greatest(charge_points.last_seen_at, EXCLUDED.last_seen_at),
       first_seen_at = least(charge_points.first_seen_at, EXCLUDED.first_seen_at);

-- record_boot --
-- A charge point refused by an operator stays refused, whatever it boots with.
UPDATE wattline.charge_points
   SET vendor = %(vendor)s, model = %(model)s, serial = %(serial)s, firmware = %(firmware)s,
       ocpp_version = %(ocpp_version)s,
       last_boot_at = greatest(last_boot_at, %(booted_at)s),
       registration_status = CASE WHEN registration_status = 'Rejected' THEN 'Rejected'
                                  ELSE 'Accepted' END
 WHERE id = %(charge_point_id)s;

-- record_connector_status --
INSERT INTO wattline.connectors (charge_point_id, connector_id, status, error_code, status_at)
VALUES (%(charge_point_id)s, %(connector_id)s, %(status)s, %(error_code)s, %(status_at)s)
ON CONFLICT (charge_point_id, connector_id) DO UPDATE
   SET status = EXCLUDED.status, error_code = EXCLUDED.error_code, status_at = EXCLUDED.status_at
 WHERE connectors.status_at IS NULL OR connectors.status_at <= EXCLUDED.status_at;

-- record_connector_meter --
-- The main register only; an offline backlog replayed late never moves it backwards in time.
INSERT INTO wattline.connectors (charge_point_id, connector_id, last_meter_wh, last_meter_at)
VALUES (%(charge_point_id)s, %(connector_id)s, %(meter_wh)s, %(meter_at)s)
ON CONFLICT (charge_point_id, connector_id) DO UPDATE
   SET last_meter_wh = EXCLUDED.last_meter_wh, last_meter_at = EXCLUDED.last_meter_at
 WHERE connectors.last_meter_at IS NULL OR connectors.last_meter_at <= EXCLUDED.last_meter_at;

-- The transactionId a charge point knows a transaction by is coalesce(charger_transaction_id,
-- id) (for orphans, charger_transaction_id is the id their stop carried). It differs from id
-- only for a start numbered offline whose id another start already had (below).

-- find_or_create_transaction --
-- A re-sent StartTransaction (same charge point, connector, start time and id tag) gets the id
-- it got the first time.
INSERT INTO wattline.transactions
       (charge_point_id, connector_id, id_tag, meter_start_wh, started_at, start_received_at)
VALUES (%(charge_point_id)s, %(connector_id)s, %(id_tag)s, %(meter_start_wh)s, %(started_at)s,
        %(received_at)s)
ON CONFLICT ON CONSTRAINT transactions_start_key
   DO UPDATE SET meter_start_wh = coalesce(transactions.meter_start_wh, EXCLUDED.meter_start_wh)
RETURNING coalesce(charger_transaction_id, id) AS id;

-- insert_offline_transaction --
-- While the database is away the charger is told an id made from the start's natural key
-- (service.offline_transaction_id: 31 bits of a hash, negative), and the spool replays this.
-- Two different starts can hash to the same id; the second must not be dropped. So the row
-- takes the first free id from the one the charger was told downwards (wattline.free_transaction_id: -1 after -2^31), and
-- when that is not the told id, charger_transaction_id keeps the told one: the charger's later
-- StopTransaction and MeterValues name it, and are matched by charge point and that id
-- (stop_transaction, transaction_connector). A re-sent start finds its row by the natural key
-- and keeps its id; if the row was numbered online first and the charger was told this id
-- instead, this id becomes the one the charger knows it by. Two replays racing for the same
-- free id: the loser's batch fails on the primary key and is retried, never dropped.
INSERT INTO wattline.transactions
       (id, charge_point_id, connector_id, id_tag, meter_start_wh, started_at, start_received_at,
        charger_transaction_id)
OVERRIDING SYSTEM VALUE
SELECT p.id, %(charge_point_id)s, %(connector_id)s, %(id_tag)s, %(meter_start_wh)s,
       %(started_at)s, %(received_at)s, nullif(%(transaction_id)s::integer, p.id)
  FROM (SELECT wattline.free_transaction_id(%(transaction_id)s::integer) AS id) p
ON CONFLICT ON CONSTRAINT transactions_start_key
   DO UPDATE SET meter_start_wh = coalesce(transactions.meter_start_wh, EXCLUDED.meter_start_wh),
                 charger_transaction_id = nullif(%(transaction_id)s::integer, transactions.id);

-- stop_transaction --
-- A stop for a transaction we never issued is kept as an orphan, once, not lost. Should one
-- charge point know two transactions by the same id (two of its own offline starts hashed
-- alike), the stop goes to the one it already stopped at that time (a re-sent stop), else to the
-- open one, else to the latest.
WITH stopped AS (
    UPDATE wattline.transactions
       SET meter_stop_wh = %(meter_stop_wh)s, stopped_at = %(stopped_at)s,
           stop_received_at = coalesce(stop_received_at, %(received_at)s),
           stop_reason = %(reason)s, stop_id_tag = %(id_tag)s
     WHERE id = (SELECT t.id FROM wattline.transactions t
                  WHERE t.charge_point_id = %(charge_point_id)s AND NOT t.orphan
                    AND ((t.id = %(transaction_id)s AND t.charger_transaction_id IS NULL)
                         OR (%(transaction_id)s < 0
                             AND t.charger_transaction_id = %(transaction_id)s))
                  ORDER BY CASE WHEN t.stopped_at = %(stopped_at)s THEN 0
                                WHEN t.stopped_at IS NULL THEN 1 ELSE 2 END,
                           t.started_at DESC NULLS LAST
                  LIMIT 1)
    RETURNING id
)
INSERT INTO wattline.transactions
       (charge_point_id, connector_id, meter_stop_wh, stopped_at, stop_received_at, stop_reason,
        stop_id_tag, orphan, charger_transaction_id)
SELECT %(charge_point_id)s, 0, %(meter_stop_wh)s, %(stopped_at)s, %(received_at)s, %(reason)s,
       %(id_tag)s, true, %(transaction_id)s
 WHERE NOT EXISTS (SELECT 1 FROM stopped)
   AND NOT EXISTS (SELECT 1 FROM wattline.transactions t
                    WHERE t.orphan AND t.charge_point_id = %(charge_point_id)s
                      AND t.charger_transaction_id = %(transaction_id)s
                      AND t.stopped_at = %(stopped_at)s);

-- transaction_connector --
-- By the id the charge point knows the transaction by (see stop_transaction).
SELECT connector_id FROM wattline.transactions t
 WHERE t.charge_point_id = %(charge_point_id)s AND NOT t.orphan
   AND ((t.id = %(transaction_id)s AND t.charger_transaction_id IS NULL)
        OR (%(transaction_id)s < 0 AND t.charger_transaction_id = %(transaction_id)s))
 ORDER BY t.stopped_at IS NULL DESC, t.started_at DESC NULLS LAST
 LIMIT 1;

-- charge_point_credentials --
SELECT id, password_hash, registration_status, security_profile FROM wattline.charge_points
 WHERE id = %(charge_point_id)s;

-- id_tag_with_parent --
SELECT t.id_tag, t.status, t.expiry, t.parent,
       p.status AS parent_status, p.expiry AS parent_expiry
  FROM wattline.id_tags t
  LEFT JOIN wattline.id_tags p ON p.id_tag = t.parent
 WHERE t.id_tag = %(id_tag)s;

-- save_charge_point --
INSERT INTO wattline.charge_points (id, password_hash, registration_status, security_profile)
VALUES (%(charge_point_id)s, %(password_hash)s, 'Accepted', coalesce(%(security_profile)s, 1))
ON CONFLICT (id) DO UPDATE
   SET password_hash = coalesce(EXCLUDED.password_hash, charge_points.password_hash),
       security_profile = coalesce(%(security_profile)s, charge_points.security_profile),
       registration_status = 'Accepted';

-- save_max_power --
-- A connector's maximum power (connector_id NULL: the charge point's own, which its connectors
-- without one inherit). Energy faster than this is held as suspect (0018); SOC and efficiency
-- figures use it too.
WITH cp AS (
    UPDATE wattline.charge_points SET max_power_kw = %(kw)s
     WHERE id = %(charge_point_id)s AND %(connector_id)s::integer IS NULL
    RETURNING id
), conn AS (
    INSERT INTO wattline.connectors (charge_point_id, connector_id, max_power_kw)
    SELECT id, %(connector_id)s::integer, %(kw)s FROM wattline.charge_points
     WHERE id = %(charge_point_id)s AND %(connector_id)s::integer IS NOT NULL
    ON CONFLICT (charge_point_id, connector_id) DO UPDATE SET max_power_kw = EXCLUDED.max_power_kw
    RETURNING charge_point_id
)
SELECT (SELECT count(*) FROM cp) + (SELECT count(*) FROM conn) AS saved;

-- save_id_tag --
INSERT INTO wattline.id_tags (id_tag, status, expiry, parent, owner)
VALUES (%(id_tag)s, %(status)s, %(expiry)s, %(parent)s, %(owner)s)
ON CONFLICT (id_tag) DO UPDATE
   SET status = EXCLUDED.status, expiry = EXCLUDED.expiry, parent = EXCLUDED.parent,
       owner = EXCLUDED.owner;

-- request_command --
-- The commands_notify trigger (0006) wakes the central system holding the charge point.
INSERT INTO wattline.commands (charge_point_id, action, payload, requested_by)
VALUES (%(charge_point_id)s, %(action)s, %(payload)s, %(requested_by)s)
RETURNING id;

-- command_by_id --
SELECT id, charge_point_id, action, payload, status, response, error, requested_at, sent_at,
       answered_at
  FROM wattline.commands WHERE id = %(id)s;

-- claim_commands --
-- Only one process may send a command, and only once. One at a time, the oldest first: OCPP
-- allows one CALL in flight, and sent_at must be when the command went out (the sweep below
-- counts its time-out from there), not when it was queued behind slower ones.
UPDATE wattline.commands SET status = 'sent', sent_at = now()
 WHERE id = (SELECT id FROM wattline.commands
              WHERE charge_point_id = %(charge_point_id)s AND status = 'requested'
              ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING id, action, payload;

-- finish_command --
UPDATE wattline.commands
   SET status = %(status)s, answered_at = now(), response = %(response)s, error = %(error)s
 WHERE id = %(id)s;

-- sweep_commands --
-- Commands nobody will finish. `sent` for longer than any sender waits (lost_after_s: the
-- command time-out plus a margin): the process that sent it died, or lost the database before
-- it could write the answer; it becomes timed_out. `requested` for longer than expire_after_s
-- while its charge point has not been heard from for as long: no process holds its connection
-- (a connected one heartbeats well within that), and a command sent hours late (a remote start)
-- would do harm; it fails. Each is one UPDATE on rows still in that status, so any number of
-- processes may sweep at once: a row taken by a claim or another sweep is no longer matched.
WITH lost AS (
    UPDATE wattline.commands
       SET status = 'timed_out', answered_at = now(),
           error = format('no answer recorded within %%s s of sending: the process that sent'
                          ' it stopped or lost the database (swept)', %(lost_after_s)s)
     WHERE status = 'sent' AND sent_at < now() - make_interval(secs => %(lost_after_s)s)
    RETURNING id
), expired AS (
    UPDATE wattline.commands c
       SET status = 'failed', answered_at = now(),
           error = format('expired: charge point not connected for %%s s after the request',
                          %(expire_after_s)s)
     WHERE c.status = 'requested'
       AND c.requested_at < now() - make_interval(secs => %(expire_after_s)s)
       AND NOT EXISTS (SELECT 1 FROM wattline.charge_points p
                        WHERE p.id = c.charge_point_id
                          AND p.last_seen_at >= now() - make_interval(secs => %(expire_after_s)s))
    RETURNING id
)
SELECT (SELECT count(*) FROM lost) AS timed_out, (SELECT count(*) FROM expired) AS expired;

-- listen_commands --
LISTEN wattline_commands;

-- record_charger_security_event --
-- An OCPP 2.0.1 SecurityEventNotification, beside the handshake events of the same series; a
-- re-sent one (same charger, time and type) is kept once.
INSERT INTO wattline.security_events (time, source, identity, event, details)
SELECT %(at)s, 'ocpp', %(charge_point_id)s, %(event)s, %(details)s::jsonb
 WHERE NOT EXISTS (SELECT FROM wattline.security_events
                    WHERE time = %(at)s AND source = 'ocpp' AND identity = %(charge_point_id)s
                      AND event = %(event)s);

-- upsert_transaction_201 --
-- An OCPP 2.0.1 TransactionEvent's transaction (0043): created by whichever event comes first,
-- Started or not, under the integer id the ingest derived from (charge point, transactionId)
-- (service.transaction_id_201; the first free one down from it if another transaction holds
-- it, with charger_transaction_id keeping the derived one, which the meter values carry, as for
-- 1.6's offline starts). A later event fills what an earlier one lacked: the id token (2.0.1 may
-- authorize after the cable is plugged in), the start register, the connector.
INSERT INTO wattline.transactions
       (id, charge_point_id, connector_id, id_tag, meter_start_wh, started_at, start_received_at,
        charger_transaction_id, ocpp_transaction_id)
OVERRIDING SYSTEM VALUE
SELECT p.id, %(charge_point_id)s, %(connector_id)s, %(id_tag)s, %(meter_start_wh)s,
       %(started_at)s, %(received_at)s, nullif(%(transaction_id)s::integer, p.id),
       %(ocpp_transaction_id)s
  FROM (SELECT wattline.free_transaction_id(%(transaction_id)s::integer) AS id) p
ON CONFLICT (charge_point_id, ocpp_transaction_id) WHERE ocpp_transaction_id IS NOT NULL
   DO UPDATE SET id_tag = coalesce(transactions.id_tag, EXCLUDED.id_tag),
                 meter_start_wh = coalesce(transactions.meter_start_wh, EXCLUDED.meter_start_wh),
                 -- Connector 0 stands for "no EVSE named yet": the first event that names one.
                 connector_id = CASE WHEN transactions.connector_id = 0
                                     THEN EXCLUDED.connector_id
                                     ELSE transactions.connector_id END,
                 -- A Started that arrives after an Updated moves the start back to its time.
                 started_at = least(transactions.started_at, EXCLUDED.started_at);

-- stop_transaction_201 --
-- TransactionEvent Ended: the stop time, stoppedReason, and the end register when the event
-- carried one (else the report ends the session on the connector's last reading after the
-- start, as for a 1.6 session without meterStop).
UPDATE wattline.transactions
   SET stopped_at = %(stopped_at)s,
       stop_received_at = coalesce(stop_received_at, %(received_at)s),
       stop_reason = %(reason)s,
       meter_stop_wh = coalesce(%(meter_stop_wh)s, meter_stop_wh)
 WHERE charge_point_id = %(charge_point_id)s AND ocpp_transaction_id = %(ocpp_transaction_id)s;

-- record_transaction_event --
-- Once per (station, transaction, seqNo): a re-sent event is not a second one.
INSERT INTO wattline.transaction_events
       (charge_point_id, ocpp_transaction_id, seq_no, event_type, time, received_at,
        trigger_reason, offline, stopped_reason, evse_id, id_token)
VALUES (%(charge_point_id)s, %(ocpp_transaction_id)s, %(seq_no)s, %(event_type)s, %(time)s,
        %(received_at)s, %(trigger_reason)s, %(offline)s, %(stopped_reason)s, %(evse_id)s,
        %(id_token)s)
ON CONFLICT DO NOTHING;

-- transaction_connector_201 --
SELECT connector_id FROM wattline.transactions
 WHERE charge_point_id = %(charge_point_id)s AND ocpp_transaction_id = %(ocpp_transaction_id)s;
