-- Ingest goes through per-session staging tables: a writer COPYs a batch into them and calls a
-- merge function in the same transaction. Merging set-wise lets us drop re-sent rows and store
-- each register reading's delta from the previous reading of the same register, which is what
-- makes the energy rollups plain sums (see 0002, meter_values.delta).

-- One staging table per keyed series; ocpp_messages and ingest_rejects have no natural key and
-- are copied straight in.
CREATE OR REPLACE FUNCTION wattline.create_staging() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS stage_meter_values
        (LIKE wattline.meter_values INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE IF NOT EXISTS stage_register_readings
        (LIKE wattline.register_readings INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE IF NOT EXISTS stage_status_notifications
        (LIKE wattline.status_notifications INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE IF NOT EXISTS stage_meter_prepay_balance
        (LIKE wattline.meter_prepay_balance INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE IF NOT EXISTS stage_meter_health
        (LIKE wattline.meter_health INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE IF NOT EXISTS stage_meter_event_log
        (LIKE wattline.meter_event_log INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
END $$;

-- Moves pg_temp.stage_register_readings into wattline.register_readings; returns rows inserted.
-- Readings may arrive out of order (a meter's offline backlog, a re-sent batch): a reading that
-- lands between two stored ones also corrects the delta of the stored one after it.
CREATE OR REPLACE FUNCTION wattline.merge_register_readings() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    inserted bigint;
BEGIN
    -- Two writers merging the same register would each compute deltas without the other's rows.
    -- Registers hash into 64 lock slots, so a batch from a whole fleet takes at most 64 locks
    -- (one lock per register would exhaust the lock table), in a fixed order (no deadlocks).
    PERFORM pg_advisory_xact_lock(hashtext('wattline.register'), slot)
       FROM (SELECT DISTINCT abs(hashtext(register_id::text) % 64) AS slot
               FROM pg_temp.stage_register_readings ORDER BY 1) locks;

    WITH staged AS (
        SELECT DISTINCT ON (register_id, time) *
          FROM pg_temp.stage_register_readings
         ORDER BY register_id, time, received_at
    ), fresh AS (
        SELECT s.* FROM staged s
         WHERE NOT EXISTS (SELECT 1 FROM wattline.register_readings r
                            WHERE r.register_id = s.register_id AND r.time = s.time)
    ), span AS (
        SELECT register_id, min(time) AS lo, max(time) AS hi FROM fresh GROUP BY register_id
    ), stored AS (
        -- The stored readings the fresh ones must be ordered with: the one before the earliest,
        -- those in between, and the one after the latest.
        SELECT r.* FROM span p CROSS JOIN LATERAL (
            (SELECT * FROM wattline.register_readings r
              WHERE r.register_id = p.register_id AND r.time < p.lo
              ORDER BY r.time DESC LIMIT 1)
            UNION ALL
            (SELECT * FROM wattline.register_readings r
              WHERE r.register_id = p.register_id AND r.time > p.lo AND r.time < p.hi)
            UNION ALL
            (SELECT * FROM wattline.register_readings r
              WHERE r.register_id = p.register_id AND r.time > p.hi
              ORDER BY r.time LIMIT 1)) r
    ), seq AS (
        SELECT register_id, time, import_wh, export_wh, true AS is_fresh FROM fresh
        UNION ALL
        SELECT register_id, time, import_wh, export_wh, false FROM stored
    ), d AS (
        SELECT register_id, time, is_fresh,
               import_wh - lag(import_wh) OVER w AS di,
               export_wh - lag(export_wh) OVER w AS de
          FROM seq WINDOW w AS (PARTITION BY register_id ORDER BY time)
    ), fixed AS (
        UPDATE wattline.register_readings r
           SET delta_import_wh = greatest(d.di, 0), delta_export_wh = greatest(d.de, 0),
               quality = CASE WHEN d.di < 0 OR d.de < 0 THEN 'reset'
                              WHEN r.quality = 'reset' THEN 'ok' ELSE r.quality END
          FROM d
         WHERE NOT d.is_fresh AND d.di IS NOT NULL
           AND r.register_id = d.register_id AND r.time = d.time
           AND (r.delta_import_wh IS DISTINCT FROM greatest(d.di, 0)
                OR r.delta_export_wh IS DISTINCT FROM greatest(d.de, 0))
        RETURNING 1
    ), ins AS (
        INSERT INTO wattline.register_readings
               (time, received_at, register_id, meter_id, element, import_wh, export_wh,
                import_w, export_w, delta_import_wh, delta_export_wh, quality)
        SELECT f.time, f.received_at, f.register_id, f.meter_id, f.element, f.import_wh,
               f.export_wh, f.import_w, f.export_w,
               coalesce(greatest(d.di, 0), 0), coalesce(greatest(d.de, 0), 0),
               CASE WHEN d.di < 0 OR d.de < 0 THEN 'reset' ELSE f.quality END
          FROM fresh f JOIN d ON d.is_fresh AND d.register_id = f.register_id AND d.time = f.time
        ON CONFLICT DO NOTHING
        RETURNING 1
    )
    SELECT count(*) INTO inserted FROM ins;
    RETURN inserted;
END $$;

-- Moves pg_temp.stage_meter_values into wattline.meter_values; returns rows inserted. Deltas
-- are kept for register measurands (*.Register) per series: charge point, connector,
-- measurand, phase and location.
CREATE OR REPLACE FUNCTION wattline.merge_meter_values() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    inserted bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('wattline.meter_values'), slot)
       FROM (SELECT DISTINCT abs(hashtext(charge_point_id || '/' || connector_id) % 64) AS slot
               FROM pg_temp.stage_meter_values ORDER BY 1) locks;

    WITH staged AS (
        SELECT DISTINCT ON (charge_point_id, connector_id, measurand, phase, location, time) *
          FROM pg_temp.stage_meter_values
         ORDER BY charge_point_id, connector_id, measurand, phase, location, time, received_at
    ), fresh AS (
        SELECT s.* FROM staged s
         WHERE NOT EXISTS (SELECT 1 FROM wattline.meter_values m
                            WHERE m.charge_point_id = s.charge_point_id
                              AND m.connector_id = s.connector_id
                              AND m.measurand = s.measurand AND m.phase = s.phase
                              AND m.location = s.location AND m.time = s.time)
    ), span AS (
        SELECT charge_point_id, connector_id, measurand, phase, location,
               min(time) AS lo, max(time) AS hi
          FROM fresh WHERE measurand LIKE '%.Register'
         GROUP BY charge_point_id, connector_id, measurand, phase, location
    ), stored AS (
        SELECT m.* FROM span p CROSS JOIN LATERAL (
            (SELECT * FROM wattline.meter_values m
              WHERE (m.charge_point_id, m.connector_id, m.measurand, m.phase, m.location)
                  = (p.charge_point_id, p.connector_id, p.measurand, p.phase, p.location)
                AND m.time < p.lo
              ORDER BY m.time DESC LIMIT 1)
            UNION ALL
            (SELECT * FROM wattline.meter_values m
              WHERE (m.charge_point_id, m.connector_id, m.measurand, m.phase, m.location)
                  = (p.charge_point_id, p.connector_id, p.measurand, p.phase, p.location)
                AND m.time > p.lo AND m.time < p.hi)
            UNION ALL
            (SELECT * FROM wattline.meter_values m
              WHERE (m.charge_point_id, m.connector_id, m.measurand, m.phase, m.location)
                  = (p.charge_point_id, p.connector_id, p.measurand, p.phase, p.location)
                AND m.time > p.hi
              ORDER BY m.time LIMIT 1)) m
    ), seq AS (
        SELECT charge_point_id, connector_id, measurand, phase, location, time, value,
               true AS is_fresh
          FROM fresh WHERE measurand LIKE '%.Register'
        UNION ALL
        SELECT charge_point_id, connector_id, measurand, phase, location, time, value, false
          FROM stored
    ), d AS (
        SELECT charge_point_id, connector_id, measurand, phase, location, time, is_fresh,
               value - lag(value) OVER w AS delta
          FROM seq
        WINDOW w AS (PARTITION BY charge_point_id, connector_id, measurand, phase, location
                     ORDER BY time)
    ), fixed AS (
        UPDATE wattline.meter_values m
           SET delta = greatest(d.delta, 0),
               quality = CASE WHEN d.delta < 0 THEN 'reset'
                              WHEN m.quality = 'reset' THEN 'ok' ELSE m.quality END
          FROM d
         WHERE NOT d.is_fresh AND d.delta IS NOT NULL
           AND (m.charge_point_id, m.connector_id, m.measurand, m.phase, m.location, m.time)
             = (d.charge_point_id, d.connector_id, d.measurand, d.phase, d.location, d.time)
           AND m.delta IS DISTINCT FROM greatest(d.delta, 0)
        RETURNING 1
    ), ins AS (
        INSERT INTO wattline.meter_values
               (time, received_at, charge_point_id, connector_id, transaction_id, measurand,
                phase, location, context, unit, value, delta, quality)
        SELECT f.time, f.received_at, f.charge_point_id, f.connector_id, f.transaction_id,
               f.measurand, f.phase, f.location, f.context, f.unit, f.value,
               CASE WHEN f.measurand LIKE '%.Register'
                    THEN coalesce(greatest(d.delta, 0), 0) END,
               CASE WHEN d.delta < 0 THEN 'reset' ELSE f.quality END
          FROM fresh f
          LEFT JOIN d ON d.is_fresh
               AND (d.charge_point_id, d.connector_id, d.measurand, d.phase, d.location, d.time)
                 = (f.charge_point_id, f.connector_id, f.measurand, f.phase, f.location, f.time)
        ON CONFLICT DO NOTHING
        RETURNING 1
    )
    SELECT count(*) INTO inserted FROM ins;
    RETURN inserted;
END $$;
