-- Meter ingest (ingest/mqtt): the registry lookups and the meter_shadows updates that commit in
-- the same transaction as the rows they describe. Shadow updates are guarded by the device's
-- time, so a meter's offline backlog arriving late never overwrites newer state.
-- Array parameters are sent in binary (%(name)b): psycopg writes a list in text form element
-- by element in Python (quoting each), which cost 10 ms for a thousand UUIDs; binary, 0.6 ms.

-- find_meters --
-- Meters by serial, with their enabled registers (an empty list for a meter with none). The
-- subscriber looks up every meter of a group of messages it has not cached in one go.
SELECT r.serial, r.id AS meter_id,
       coalesce(jsonb_agg(jsonb_build_object(
                    'register_id', g.register_id, 'element', g.element,
                    'direction_reversed', g.direction_reversed))
                FILTER (WHERE g.register_id IS NOT NULL), '[]') AS registers
  FROM wattline.meter_registry r
  LEFT JOIN wattline.meter_registers g ON g.meter_id = r.id AND g.status = 'enabled'
 WHERE r.serial = ANY(%(serials)b::text[])
 GROUP BY r.id;

-- register_meters --
-- Register meters heard for the first time; a no-op for any another process registered first
WITH meter AS (
    INSERT INTO wattline.meter_registry (serial, name)
    SELECT serial, serial FROM unnest(%(serials)b::text[]) AS serial ORDER BY serial
    ON CONFLICT (serial) DO NOTHING
    RETURNING id
)
INSERT INTO wattline.meter_shadows (id) SELECT id FROM meter;

-- add_registers --
-- Enabled registers for elements their meters have none for yet
INSERT INTO wattline.meter_registers (meter_id, element)
SELECT meter_id, element
  FROM unnest(%(meter_ids)b::uuid[], %(elements)b::text[]) AS r (meter_id, element)
 ORDER BY meter_id, element
ON CONFLICT DO NOTHING;

-- mark_meter_seen --
-- last_seen_at is our receive time: "offline" means we have not heard from the meter
INSERT INTO wattline.meter_shadows (id, last_seen_at) VALUES (%(meter_id)s, %(seen_at)s)
ON CONFLICT (id) DO UPDATE
   SET last_seen_at = greatest(meter_shadows.last_seen_at, excluded.last_seen_at),
       updated_at = now();

-- mark_meters_seen --
-- mark_meter_seen for a group of messages (ingest/mqtt/group.py): a row per meter with its
-- latest receive time, upserted in meter_id order so concurrent subscribers lock shadow rows
-- in the same order
INSERT INTO wattline.meter_shadows AS s (id, last_seen_at)
SELECT id, seen_at
  FROM unnest(%(meter_ids)b::uuid[], %(seen_at)b::timestamptz[]) AS seen (id, seen_at)
 ORDER BY id
ON CONFLICT (id) DO UPDATE
   SET last_seen_at = greatest(s.last_seen_at, excluded.last_seen_at),
       updated_at = now();

-- apply_balance --
UPDATE wattline.meter_shadows
   SET balance = %(balance)s, emergency_credit = %(emergency_credit)s,
       balance_updated_at = %(ts)s, updated_at = now()
 WHERE id = %(meter_id)s
   AND (balance_updated_at IS NULL OR balance_updated_at <= %(ts)s);

-- apply_health --
UPDATE wattline.meter_shadows
   SET csq = %(csq)s, clock_time_diff_seconds = %(clock_time_diff_seconds)s,
       voltage = coalesce(%(voltage)s, voltage), health = %(health)s,
       health_updated_at = %(ts)s, updated_at = now()
 WHERE id = %(meter_id)s
   AND (health_updated_at IS NULL OR health_updated_at <= %(ts)s);

-- apply_tariffs --
-- Tariffs are ordered by their own activation time, not by message order: an active tariff
-- replaces the stored one only if it activates no earlier, and a future tariff is kept only
-- while it activates after the active one.
UPDATE wattline.meter_shadows s
   SET (tariffs_active, tariffs_future) = (
           SELECT x.active,
                  CASE WHEN x.active IS NULL
                         OR (x.future ->> 'activation_datetime')::timestamptz
                          > (x.active ->> 'activation_datetime')::timestamptz
                       THEN x.future END
             FROM (SELECT CASE WHEN %(active)s::jsonb IS NOT NULL
                                AND (s.tariffs_active IS NULL
                                     OR (%(active)s::jsonb ->> 'activation_datetime')::timestamptz
                                     >= (s.tariffs_active ->> 'activation_datetime')::timestamptz)
                               THEN %(active)s::jsonb ELSE s.tariffs_active END AS active,
                          coalesce(%(future)s::jsonb, s.tariffs_future) AS future) x),
       updated_at = now()
 WHERE s.id = %(meter_id)s;

-- promote_due_tariffs --
-- A future tariff whose activation time has passed becomes the active one. The ingest runs it
-- for a meter right after its tariff message, and for all meters (meter_id NULL) once per
-- group of messages, as `wattline jobs` does (index: 0013).
UPDATE wattline.meter_shadows
   SET tariffs_active = tariffs_future, tariffs_future = NULL, updated_at = now()
 WHERE tariffs_future IS NOT NULL
   AND (tariffs_future ->> 'activation_datetime')::timestamptz <= now()
   AND (%(meter_id)s::uuid IS NULL OR id = %(meter_id)s::uuid);
