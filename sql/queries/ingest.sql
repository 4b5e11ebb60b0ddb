-- Merges from the session's staging tables (wattline.create_staging) into the series. Re-sent
-- rows hit the natural key and are skipped, so they count once.
-- Array parameters are sent in binary (%(name)b): psycopg writes a list in text form element
-- by element in Python (quoting each), which cost 10 ms for a thousand UUIDs; binary, 0.6 ms.

-- merge_meter_values --
SELECT wattline.merge_meter_values();

-- merge_register_readings --
SELECT wattline.merge_register_readings();

-- merge_status_notifications --
INSERT INTO wattline.status_notifications SELECT * FROM pg_temp.stage_status_notifications
    ON CONFLICT DO NOTHING;

-- merge_meter_prepay_balance --
INSERT INTO wattline.meter_prepay_balance SELECT * FROM pg_temp.stage_meter_prepay_balance
    ON CONFLICT DO NOTHING;

-- merge_meter_health --
INSERT INTO wattline.meter_health SELECT * FROM pg_temp.stage_meter_health
    ON CONFLICT DO NOTHING;

-- merge_meter_event_log --
INSERT INTO wattline.meter_event_log SELECT * FROM pg_temp.stage_meter_event_log
    ON CONFLICT DO NOTHING;

-- create_staging --
SELECT wattline.create_staging();

-- Writer slots (0011): lock the slots a transaction touches, in slot order, and bump them;
-- returns who bumped each last and at which version, so the writer knows which of its cached
-- last readings are still current.
-- claim_writer_slots --
WITH locked AS (
    SELECT slot, writer, version FROM wattline_admin.writer_slots
     WHERE target = %(target)s AND slot = ANY(%(slots)s)
     ORDER BY slot FOR UPDATE
)
UPDATE wattline_admin.writer_slots w SET writer = %(writer)s, version = locked.version + 1
  FROM locked
 WHERE w.target = %(target)s AND w.slot = locked.slot
RETURNING locked.slot, locked.writer, locked.version;

-- Marks this session as a writer, whose own writes do not reset every slot.
-- identify_writer --
SELECT set_config('wattline.writer', %(writer)s, false);

-- The last stored reading of each series asked for (arrays of key columns, in order), with its
-- reference (0018: set when it was a drop) and the series' suspect limits: the device's maximum
-- power with tolerance (max_power_cw) and wattline.suspect_tolerance_wh. A series with no
-- reading yet comes back with a NULL time. The writer asks for the series its memory cannot
-- vouch for, and for those it merged (the merge may have moved their last reading).
-- probe_meter_values --
SELECT k.i, l.time, l.value, l.reference,
       wattline.charger_max_power_cw(k.charge_point_id, k.connector_id),
       wattline.setting('suspect_tolerance_wh', 100)
  FROM unnest(%(charge_point_id)b::text[], %(connector_id)b::integer[], %(measurand)b::text[],
              %(phase)b::text[], %(location)b::text[])
       WITH ORDINALITY AS k (charge_point_id, connector_id, measurand, phase, location, i)
  LEFT JOIN LATERAL (
       SELECT m.time, m.value, m.reference FROM wattline.meter_values m
        WHERE (m.charge_point_id, m.connector_id, m.measurand, m.phase, m.location)
            = (k.charge_point_id, k.connector_id, k.measurand, k.phase, k.location)
        ORDER BY m.time DESC LIMIT 1) l ON true;

-- probe_register_readings --
SELECT k.i, l.time, l.import_wh, l.export_wh, l.reference_import_wh, l.reference_export_wh,
       wattline.register_max_power_cw(k.register_id),
       wattline.setting('suspect_tolerance_wh', 100)
  FROM unnest(%(register_id)b::uuid[]) WITH ORDINALITY AS k (register_id, i)
  LEFT JOIN LATERAL (
       SELECT r.time, r.import_wh, r.export_wh, r.reference_import_wh, r.reference_export_wh
         FROM wattline.register_readings r
        WHERE r.register_id = k.register_id ORDER BY r.time DESC LIMIT 1) l ON true;

-- Replay keys (0017). Frames that may be stored already (a replay, a retry after a lost commit
-- answer) keep their key and time, so the unique index drops the second copy.
-- create_replay_staging --
SELECT wattline.create_replay_staging();

-- merge_ocpp_messages --
INSERT INTO wattline.ocpp_messages SELECT * FROM pg_temp.stage_ocpp_messages
    ON CONFLICT DO NOTHING;

-- Rejects may carry a producer's key (a digest of the refused message) with a new time each
-- delivery: the key alone decides, looked up by the leading column of the unique index. (The
-- writer drops repeats within one batch, keeping the staging table in arrival order.)
-- merge_ingest_rejects --
INSERT INTO wattline.ingest_rejects SELECT * FROM pg_temp.stage_ingest_rejects s
 WHERE NOT EXISTS (SELECT 1 FROM wattline.ingest_rejects r WHERE r.replay_key = s.replay_key)
    ON CONFLICT DO NOTHING;
