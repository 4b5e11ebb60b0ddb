-- Suspect register readings (migration 0018): deltas above the device's maximum power over the
-- interval, held out of the rollups until an operator accepts them (`wattline readings`).
-- Filters: charge_point_id (and connector_id) or meter serial, each NULL for any; a charger
-- filter leaves meters out and the other way round. One row per held amount.

-- suspect_readings --
SELECT 'charger' AS kind, m.charge_point_id || ':' || m.connector_id AS device,
       m.measurand AS register, m.time, m.value, m.held AS held_wh
  FROM wattline.meter_values m
 WHERE m.quality = 'suspect' AND m.time >= %(lo)s AND m.time < %(hi)s
   AND %(serial)s::text IS NULL
   AND m.charge_point_id = coalesce(%(charge_point_id)s, m.charge_point_id)
   AND m.connector_id = coalesce(%(connector_id)s, m.connector_id)
UNION ALL
SELECT 'meter', g.serial, r.element || ' ' || h.register, r.time, h.value, h.held
  FROM wattline.register_readings r
  JOIN wattline.meter_registry g ON g.id = r.meter_id
 CROSS JOIN LATERAL (VALUES ('import', r.import_wh, r.held_import_wh),
                            ('export', r.export_wh, r.held_export_wh)) h (register, value, held)
 WHERE r.quality = 'suspect' AND r.time >= %(lo)s AND r.time < %(hi)s AND h.held IS NOT NULL
   AND %(charge_point_id)s::text IS NULL
   AND g.serial = coalesce(%(serial)s, g.serial)
 ORDER BY kind, device, register, time;

-- Accepting moves the held amount into the delta. An UPDATE: the rollups' invalidation (the
-- postgres profile's triggers, TimescaleDB's continuous aggregates) recomputes their buckets.
-- Each returns the amounts it moved (the rows as they were, joined: RETURNING sees new rows),
-- meters also where, for their settlement periods.
-- accept_meter_values --
UPDATE wattline.meter_values m SET delta = m.delta + o.held, held = NULL, quality = 'accepted'
  FROM (SELECT charge_point_id, connector_id, measurand, phase, location, time, held
          FROM wattline.meter_values
         WHERE quality = 'suspect' AND time >= %(lo)s AND time < %(hi)s
           AND %(serial)s::text IS NULL
           AND charge_point_id = coalesce(%(charge_point_id)s, charge_point_id)
           AND connector_id = coalesce(%(connector_id)s, connector_id)) o
 WHERE (m.charge_point_id, m.connector_id, m.measurand, m.phase, m.location, m.time)
     = (o.charge_point_id, o.connector_id, o.measurand, o.phase, o.location, o.time)
RETURNING o.held AS held_wh;

-- accept_register_readings --
UPDATE wattline.register_readings r
   SET delta_import_wh = r.delta_import_wh + coalesce(o.held_import_wh, 0),
       delta_export_wh = r.delta_export_wh + coalesce(o.held_export_wh, 0),
       held_import_wh = NULL, held_export_wh = NULL, quality = 'accepted'
  FROM (SELECT s.register_id, s.time, s.held_import_wh, s.held_export_wh
          FROM wattline.register_readings s
          JOIN wattline.meter_registry g ON g.id = s.meter_id
         WHERE s.quality = 'suspect' AND s.time >= %(lo)s AND s.time < %(hi)s
           AND %(charge_point_id)s::text IS NULL
           AND g.serial = coalesce(%(serial)s, g.serial)) o
 WHERE r.register_id = o.register_id AND r.time = o.time
RETURNING r.meter_id, r.time,
          coalesce(o.held_import_wh, 0) + coalesce(o.held_export_wh, 0) AS held_wh;
