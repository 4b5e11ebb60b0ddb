-- Registers that glitch, and deltas no device could have drawn (issue 12).
--
-- 1. A register that drops and recovers is measured against the value before the drop. A
--    reading lower than its predecessor (a drop) adds 0, as before, and stores in `reference`
--    the value the next reading is measured against: the reference before it (the value before
--    the first of a run of drops). The next reading at or above that reference adds
--    reading - reference (1,234,000 -> 0 -> 1,234,100 adds 100, not 1,234,100); one below it but
--    not below its predecessor is a real reset and adds reading - predecessor (1,000 -> 0 -> 50
--    adds 50). Every other reading leaves `reference` NULL: it is its own reference. The rule
--    is local (a reading, its predecessor and the predecessor's reference), so the SQL merge
--    and the writer's direct path (ingest/series_cache.py) compute the same, and a late
--    reading changes at most the stored readings up to the first one after it that is not a
--    drop (drops are strictly decreasing runs: short).
-- 2. A delta above the device's maximum power over the interval since the previous reading
--    (plus wattline.suspect_tolerance_pct and wattline.suspect_tolerance_wh) is held: delta 0,
--    the amount in `held`, quality 'suspect'. Rollups sum deltas, so they leave it out with no
--    change of their own; `wattline readings accept` moves it into the delta (quality
--    'accepted'), an UPDATE the rollups' invalidation sees in both profiles.
-- Rows written before this migration have NULL reference and held, which means what it means
-- for new ones: no drop remembered, nothing held.

ALTER TABLE wattline.meter_values ADD COLUMN reference numeric, ADD COLUMN held numeric;
ALTER TABLE wattline.register_readings
    ADD COLUMN reference_import_wh numeric, ADD COLUMN reference_export_wh numeric,
    ADD COLUMN held_import_wh numeric, ADD COLUMN held_export_wh numeric;
ALTER TABLE wattline.meter_registry ADD COLUMN IF NOT EXISTS max_power_kw numeric
    CHECK (max_power_kw > 0);
ALTER TABLE wattline.connectors ADD COLUMN IF NOT EXISTS max_power_kw numeric
    CHECK (max_power_kw > 0);

-- A device's maximum power with the tolerance, in hundredths of a watt: a delta is suspect when
-- (delta - wattline.suspect_tolerance_wh) * 360000 > max_power_cw * seconds, i.e. when it
-- exceeds max power * (1 + pct/100) * hours + tolerance_wh. Kept free of division, so this and
-- the writer's Decimal arithmetic agree to the last digit.
CREATE FUNCTION wattline.max_power_cw(max_power_kw numeric) RETURNS numeric
LANGUAGE sql STABLE AS $$
    SELECT max_power_kw * 1000 * (100 + wattline.setting('suspect_tolerance_pct', 10))
$$;

-- A connector's own maximum, else its charge point's, else wattline.charger_max_power_kw.
CREATE FUNCTION wattline.charger_max_power_cw(p_charge_point_id text, p_connector_id integer)
RETURNS numeric LANGUAGE sql STABLE AS $$
    SELECT wattline.max_power_cw(coalesce(
        (SELECT c.max_power_kw FROM wattline.connectors c
          WHERE c.charge_point_id = p_charge_point_id AND c.connector_id = p_connector_id),
        (SELECT p.max_power_kw FROM wattline.charge_points p WHERE p.id = p_charge_point_id),
        wattline.setting('charger_max_power_kw', 350)))
$$;

-- The meter's maximum (meter_registry.max_power_kw), else wattline.meter_max_power_kw.
CREATE FUNCTION wattline.register_max_power_cw(p_register_id uuid) RETURNS numeric
LANGUAGE sql STABLE AS $$
    SELECT wattline.max_power_cw(coalesce(
        (SELECT g.max_power_kw FROM wattline.meter_registers r
           JOIN wattline.meter_registry g ON g.id = r.meter_id
          WHERE r.register_id = p_register_id),
        wattline.setting('meter_max_power_kw', 100)))
$$;

-- The part of a delta that is held as suspect (0 when none); not for a series' first reading
-- (prev_time NULL) nor for a reading an operator has accepted.
CREATE FUNCTION wattline.held_wh(delta numeric, "time" timestamptz, prev_time timestamptz,
                                 max_power_cw numeric, old_quality text)
RETURNS numeric LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN prev_time IS NOT NULL AND old_quality IS DISTINCT FROM 'accepted'
                     AND (delta - wattline.setting('suspect_tolerance_wh', 100)) * 360000
                         > max_power_cw * extract(epoch FROM "time" - prev_time)
                THEN delta ELSE 0 END
$$;

-- Held energy first (an operator must look), then a drop; a stored reading that is neither any
-- more goes back to 'ok'.
CREATE FUNCTION wattline.reading_quality(old_quality text, held boolean, dropped boolean)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN held THEN 'suspect' WHEN dropped THEN 'reset'
                WHEN old_quality IN ('reset', 'suspect') THEN 'ok' ELSE old_quality END
$$;

-- Rule 1 for one reading: its delta from its predecessor's value and reference.
CREATE FUNCTION wattline.register_delta(value numeric, prev_value numeric, prev_reference numeric)
RETURNS numeric LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN prev_value IS NULL THEN NULL
                WHEN value >= prev_reference THEN value - prev_reference
                WHEN value >= prev_value THEN value - prev_value
                ELSE 0 END
$$;

-- As in 0004, with the rules above. The stored readings to recompute now run past the late
-- reading's successor to the first reading after it that is not a drop.
CREATE OR REPLACE FUNCTION wattline.merge_register_readings() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    inserted bigint;
BEGIN
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
        SELECT register_id, min(time) AS lo, max(time) AS hi,
               wattline.register_max_power_cw(register_id) AS cw
          FROM fresh GROUP BY register_id
    ), stored AS (
        SELECT p.cw, r.* FROM span p CROSS JOIN LATERAL (
            (SELECT * FROM wattline.register_readings r
              WHERE r.register_id = p.register_id AND r.time < p.lo
              ORDER BY r.time DESC LIMIT 1)
            UNION ALL
            (SELECT * FROM wattline.register_readings r
              WHERE r.register_id = p.register_id AND r.time > p.lo AND r.time < p.hi)
            UNION ALL
            (SELECT * FROM wattline.register_readings r
              WHERE r.register_id = p.register_id AND r.time > p.hi
                AND r.time <= coalesce((
                    SELECT n.time FROM wattline.register_readings n
                     WHERE n.register_id = p.register_id
                       AND n.reference_import_wh IS NULL AND n.reference_export_wh IS NULL
                       AND n.time > (SELECT min(a.time) FROM wattline.register_readings a
                                      WHERE a.register_id = p.register_id AND a.time > p.hi)
                     ORDER BY n.time LIMIT 1), 'infinity'))) r
    ), seq AS (
        SELECT p.cw, f.register_id, f.time, f.import_wh, f.export_wh,
               NULL::numeric AS ref_i, NULL::numeric AS ref_e, f.quality, true AS is_fresh
          FROM fresh f JOIN span p USING (register_id)
        UNION ALL
        SELECT cw, register_id, time, import_wh, export_wh, reference_import_wh,
               reference_export_wh, quality, false
          FROM stored
    ), l AS (
        -- An anchor is a reading that is its own reference; the first row keeps the one stored.
        SELECT seq.*, lag(import_wh) OVER w AS prev_i, lag(export_wh) OVER w AS prev_e,
               lag(time) OVER w AS prev_time,
               CASE WHEN lag(time) OVER w IS NULL THEN coalesce(ref_i, import_wh)
                    WHEN import_wh >= lag(import_wh) OVER w THEN import_wh END AS anchor_i,
               CASE WHEN lag(time) OVER w IS NULL THEN coalesce(ref_e, export_wh)
                    WHEN export_wh >= lag(export_wh) OVER w THEN export_wh END AS anchor_e
          FROM seq WINDOW w AS (PARTITION BY register_id ORDER BY time)
    ), g AS (
        SELECT l.*, count(anchor_i) OVER w AS grp_i, count(anchor_e) OVER w AS grp_e
          FROM l WINDOW w AS (PARTITION BY register_id ORDER BY time)
    ), r AS (
        SELECT g.*, max(anchor_i) OVER (PARTITION BY register_id, grp_i) AS after_i,
               max(anchor_e) OVER (PARTITION BY register_id, grp_e) AS after_e
          FROM g
    ), d AS (
        SELECT r.*,
               wattline.register_delta(import_wh, prev_i, lag(after_i) OVER w) AS di,
               wattline.register_delta(export_wh, prev_e, lag(after_e) OVER w) AS de,
               import_wh < prev_i OR export_wh < prev_e AS dropped
          FROM r WINDOW w AS (PARTITION BY register_id ORDER BY time)
    ), h AS (
        SELECT d.*,
               wattline.held_wh(di, time, prev_time, cw, quality) AS hi_wh,
               wattline.held_wh(de, time, prev_time, cw, quality) AS he_wh,
               nullif(after_i, import_wh) AS new_ref_i, nullif(after_e, export_wh) AS new_ref_e
          FROM d
    ), o AS (
        SELECT h.*, di - hi_wh AS new_di, de - he_wh AS new_de,
               nullif(hi_wh, 0) AS new_hi, nullif(he_wh, 0) AS new_he,
               wattline.reading_quality(quality, hi_wh > 0 OR he_wh > 0, coalesce(dropped, false))
                   AS new_quality
          FROM h
    ), fixed AS (
        UPDATE wattline.register_readings r
           SET delta_import_wh = o.new_di, delta_export_wh = o.new_de,
               held_import_wh = o.new_hi, held_export_wh = o.new_he,
               reference_import_wh = o.new_ref_i, reference_export_wh = o.new_ref_e,
               quality = o.new_quality
          FROM o
         WHERE NOT o.is_fresh AND o.prev_time IS NOT NULL
           AND r.register_id = o.register_id AND r.time = o.time
           AND (r.delta_import_wh, r.delta_export_wh, r.held_import_wh, r.held_export_wh,
                r.reference_import_wh, r.reference_export_wh, r.quality)
               IS DISTINCT FROM (o.new_di, o.new_de, o.new_hi, o.new_he, o.new_ref_i,
                                 o.new_ref_e, o.new_quality)
        RETURNING 1
    ), ins AS (
        INSERT INTO wattline.register_readings
               (time, received_at, register_id, meter_id, element, import_wh, export_wh,
                import_w, export_w, delta_import_wh, delta_export_wh, quality,
                reference_import_wh, reference_export_wh, held_import_wh, held_export_wh)
        SELECT f.time, f.received_at, f.register_id, f.meter_id, f.element, f.import_wh,
               f.export_wh, f.import_w, f.export_w,
               coalesce(o.new_di, 0), coalesce(o.new_de, 0), o.new_quality,
               o.new_ref_i, o.new_ref_e, o.new_hi, o.new_he
          FROM fresh f JOIN o ON o.is_fresh AND o.register_id = f.register_id AND o.time = f.time
        ON CONFLICT DO NOTHING
        RETURNING 1
    )
    SELECT count(*) INTO inserted FROM ins;
    RETURN inserted;
END $$;

-- As in 0004 for charger registers (*.Register measurands), with the same rules.
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
               min(time) AS lo, max(time) AS hi,
               wattline.charger_max_power_cw(charge_point_id, connector_id) AS cw
          FROM fresh WHERE measurand LIKE '%.Register'
         GROUP BY charge_point_id, connector_id, measurand, phase, location
    ), stored AS (
        SELECT p.cw, m.* FROM span p CROSS JOIN LATERAL (
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
                AND m.time <= coalesce((
                    SELECT n.time FROM wattline.meter_values n
                     WHERE (n.charge_point_id, n.connector_id, n.measurand, n.phase, n.location)
                         = (p.charge_point_id, p.connector_id, p.measurand, p.phase, p.location)
                       AND n.reference IS NULL
                       AND n.time > (
                           SELECT min(a.time) FROM wattline.meter_values a
                            WHERE (a.charge_point_id, a.connector_id, a.measurand, a.phase,
                                   a.location)
                                = (p.charge_point_id, p.connector_id, p.measurand, p.phase,
                                   p.location)
                              AND a.time > p.hi)
                     ORDER BY n.time LIMIT 1), 'infinity'))) m
    ), seq AS (
        SELECT p.cw, f.charge_point_id, f.connector_id, f.measurand, f.phase, f.location, f.time,
               f.value, NULL::numeric AS ref, f.quality, true AS is_fresh
          FROM fresh f
          JOIN span p USING (charge_point_id, connector_id, measurand, phase, location)
        UNION ALL
        SELECT cw, charge_point_id, connector_id, measurand, phase, location, time, value,
               reference, quality, false
          FROM stored
    ), l AS (
        SELECT seq.*, lag(value) OVER w AS prev_value, lag(time) OVER w AS prev_time,
               CASE WHEN lag(time) OVER w IS NULL THEN coalesce(ref, value)
                    WHEN value >= lag(value) OVER w THEN value END AS anchor
          FROM seq
        WINDOW w AS (PARTITION BY charge_point_id, connector_id, measurand, phase, location
                     ORDER BY time)
    ), g AS (
        SELECT l.*, count(anchor) OVER w AS grp
          FROM l
        WINDOW w AS (PARTITION BY charge_point_id, connector_id, measurand, phase, location
                     ORDER BY time)
    ), r AS (
        SELECT g.*, max(anchor) OVER (PARTITION BY charge_point_id, connector_id, measurand,
                                                   phase, location, grp) AS after
          FROM g
    ), d AS (
        SELECT r.*, wattline.register_delta(value, prev_value, lag(after) OVER w) AS delta,
               value < prev_value AS dropped
          FROM r
        WINDOW w AS (PARTITION BY charge_point_id, connector_id, measurand, phase, location
                     ORDER BY time)
    ), h AS (
        SELECT d.*, wattline.held_wh(delta, time, prev_time, cw, quality) AS held_wh,
               nullif(after, value) AS new_ref
          FROM d
    ), o AS (
        SELECT h.*, delta - held_wh AS new_delta, nullif(held_wh, 0) AS new_held,
               wattline.reading_quality(quality, held_wh > 0, coalesce(dropped, false))
                   AS new_quality
          FROM h
    ), fixed AS (
        UPDATE wattline.meter_values m
           SET delta = o.new_delta, held = o.new_held, reference = o.new_ref,
               quality = o.new_quality
          FROM o
         WHERE NOT o.is_fresh AND o.prev_time IS NOT NULL
           AND (m.charge_point_id, m.connector_id, m.measurand, m.phase, m.location, m.time)
             = (o.charge_point_id, o.connector_id, o.measurand, o.phase, o.location, o.time)
           AND (m.delta, m.held, m.reference, m.quality)
               IS DISTINCT FROM (o.new_delta, o.new_held, o.new_ref, o.new_quality)
        RETURNING 1
    ), ins AS (
        INSERT INTO wattline.meter_values
               (time, received_at, charge_point_id, connector_id, transaction_id, measurand,
                phase, location, context, unit, value, delta, quality, reference, held)
        SELECT f.time, f.received_at, f.charge_point_id, f.connector_id, f.transaction_id,
               f.measurand, f.phase, f.location, f.context, f.unit, f.value,
               CASE WHEN f.measurand LIKE '%.Register' THEN coalesce(o.new_delta, 0) END,
               coalesce(o.new_quality, f.quality), o.new_ref, o.new_held
          FROM fresh f
          LEFT JOIN o ON o.is_fresh
               AND (o.charge_point_id, o.connector_id, o.measurand, o.phase, o.location, o.time)
                 = (f.charge_point_id, f.connector_id, f.measurand, f.phase, f.location, f.time)
        ON CONFLICT DO NOTHING
        RETURNING 1
    )
    SELECT count(*) INTO inserted FROM ins;
    RETURN inserted;
END $$;

-- A change of a device's maximum power changes what is suspect: writers re-read the series'
-- limits (0011's slots) instead of trusting the ones they remember. Not on INSERT: every
-- StartTransaction and every new meter inserts (ON CONFLICT) into these tables, and would make
-- every writer re-read every series; ingest creates these rows before their series are written,
-- so a maximum power is set on an existing row: an UPDATE.
CREATE TRIGGER wattline_max_power_changed AFTER UPDATE OF max_power_kw
    ON wattline.connectors FOR EACH STATEMENT
    EXECUTE FUNCTION wattline_admin.writer_slots_touched('meter_values');
CREATE TRIGGER wattline_max_power_changed AFTER UPDATE OF max_power_kw
    ON wattline.charge_points FOR EACH STATEMENT
    EXECUTE FUNCTION wattline_admin.writer_slots_touched('meter_values');
CREATE TRIGGER wattline_max_power_changed AFTER UPDATE OF max_power_kw
    ON wattline.meter_registry FOR EACH STATEMENT
    EXECUTE FUNCTION wattline_admin.writer_slots_touched('register_readings');

-- `wattline readings suspect` and `accept` look for the few suspect readings of a window.
CREATE INDEX meter_values_suspect ON wattline.meter_values (time) WHERE quality = 'suspect';
CREATE INDEX register_readings_suspect ON wattline.register_readings (time)
    WHERE quality = 'suspect';

-- Session energy from the connector's register (a session without meterStop). meterStart is
-- stored as a main-register reading at the session's start (ingest/ocpp/service.py), so the
-- energy the register counted since is the sum of the deltas after it: with the rules above
-- that is right for a session-relative meterStart next to lifetime MeterValues (meterStart 0
-- is a drop; the next lifetime reading is measured against the value before it), which
-- latest - meterStart (1,234,100 - 0) is not. Held (suspect) energy is left out until accepted,
-- as in the rollups. NULL when no reading is stored at the start (then latest - meterStart).
-- The time-of-use report chains such a session by the same deltas (analytics/session_report.py).
CREATE FUNCTION wattline.session_register_wh(
    p_charge_point_id text, p_connector_id integer, p_from timestamptz, p_to timestamptz)
RETURNS numeric LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN EXISTS (
        SELECT 1 FROM wattline.meter_values m
         WHERE m.charge_point_id = p_charge_point_id AND m.connector_id = p_connector_id
           AND m.measurand = 'Energy.Active.Import.Register' AND m.phase = ''
           AND m.location = 'Outlet' AND m.time = p_from)
    -- Rows typed in without a delta leave it to latest - meterStart.
    THEN (SELECT CASE WHEN count(*) = count(m.delta) THEN coalesce(sum(m.delta), 0) END
            FROM wattline.meter_values m
           WHERE m.charge_point_id = p_charge_point_id AND m.connector_id = p_connector_id
             AND m.measurand = 'Energy.Active.Import.Register' AND m.phase = ''
             AND m.location = 'Outlet' AND m.time > p_from AND m.time <= p_to) END
$$;

-- The view as in 0014; a session ending on the connector's register counts its deltas.
CREATE OR REPLACE VIEW wattline.session_report AS
WITH s AS (
    SELECT t.*, c.tariff_id, c.max_power_kw AS connector_max_kw,
           lr.value AS latest_register_wh, lr.time AS latest_register_at,
           coalesce(t.meter_stop_wh, lr.value, t.manual_meter_stop_wh) AS meter_end_wh,
           CASE WHEN t.meter_stop_wh IS NOT NULL THEN 'meter_stop'
                WHEN lr.value IS NOT NULL THEN 'connector_register'
                WHEN t.manual_meter_stop_wh IS NOT NULL THEN 'manual'
                ELSE 'none' END AS end_source,
           CASE WHEN t.meter_stop_wh IS NULL AND lr.value IS NOT NULL
                THEN wattline.session_register_wh(t.charge_point_id, t.connector_id,
                                                  t.started_at, lr.time) END AS register_wh
      FROM wattline.transactions t
      LEFT JOIN wattline.connectors c
             ON c.charge_point_id = t.charge_point_id AND c.connector_id = t.connector_id
      LEFT JOIN LATERAL wattline.latest_main_register(
            t.charge_point_id, t.connector_id, t.started_at, t.stopped_at) lr ON true
), e AS (
    -- greatest() skips NULLs, so an unknown end register must stay NULL explicitly.
    SELECT s.*, CASE WHEN s.register_wh IS NOT NULL
                     THEN round(greatest(s.register_wh, 0) / 1000, 3)
                     WHEN s.meter_end_wh IS NOT NULL AND s.meter_start_wh IS NOT NULL
                     THEN round(greatest(s.meter_end_wh - s.meter_start_wh, 0) / 1000, 3)
                END AS energy_kwh,
           extract(epoch FROM coalesce(s.stopped_at, s.latest_register_at) - s.started_at)
               / 3600 AS hours
      FROM s
), m AS (
    SELECT e.*, tf.currency, tf.energy_rate, tf.tax_rate,
           round(e.energy_kwh * tf.energy_rate, 2) AS cost,
           v.battery_kwh, coalesce(v.km_per_kwh, 4.5) AS km_per_kwh,
           round(e.energy_kwh / nullif(e.hours, 0), 2) AS average_kw
      FROM e
      LEFT JOIN wattline.tariffs tf ON tf.id = e.tariff_id
      LEFT JOIN wattline.vehicles v ON v.id_tag = e.id_tag
)
SELECT id AS transaction_id, charge_point_id, connector_id, id_tag, orphan,
       started_at, stopped_at, stop_reason,
       meter_start_wh, meter_end_wh, end_source, latest_register_wh, latest_register_at,
       energy_kwh, currency, energy_rate, tax_rate,
       cost, round(cost * tax_rate, 2) AS tax, cost + round(cost * tax_rate, 2) AS total,
       round(energy_kwh / battery_kwh * 100, 1) AS soc_change_pct,
       round(energy_kwh * km_per_kwh)::integer AS range_added_km,
       round(hours, 3) AS hours, average_kw,
       round(average_kw / connector_max_kw * 100, 1) AS efficiency_pct
  FROM m;

-- The view as in 0008; an open session's energy so far the same way.
CREATE OR REPLACE VIEW wattline.connector_meter_status AS
SELECT c.charge_point_id, c.connector_id, c.status,
       round(c.last_meter_wh / 1000, 3) AS meter_kwh,
       c.last_meter_at AS meter_at,
       now() - c.last_meter_at AS meter_age,
       CASE WHEN c.last_meter_at IS NULL THEN 'never'
            WHEN now() - c.last_meter_at < INTERVAL '2 minutes' THEN 'good'
            WHEN now() - c.last_meter_at <= INTERVAL '5 minutes' THEN 'warning'
            ELSE 'stale' END AS freshness,
       t.id AS transaction_id,
       t.started_at,
       s.energy_kwh AS energy_since_start_kwh,
       round(s.energy_kwh * tf.energy_rate, 2) AS estimated_cost,
       tf.currency,
       now() - t.started_at AS duration
  FROM wattline.connectors c
  LEFT JOIN LATERAL (
        SELECT * FROM wattline.transactions t
         WHERE t.charge_point_id = c.charge_point_id AND t.connector_id = c.connector_id
           AND t.stopped_at IS NULL AND NOT t.orphan
         ORDER BY t.started_at DESC LIMIT 1) t ON true
  -- A register read before the session started says nothing about it.
  LEFT JOIN LATERAL (
        SELECT round(greatest(coalesce(
                   wattline.session_register_wh(c.charge_point_id, c.connector_id,
                                                t.started_at, c.last_meter_at),
                   c.last_meter_wh - t.meter_start_wh), 0) / 1000, 3) AS energy_kwh
         WHERE c.last_meter_at >= t.started_at) s ON true
  LEFT JOIN wattline.tariffs tf ON tf.id = c.tariff_id;
