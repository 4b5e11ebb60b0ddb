-- Meter ingest (ingest/mqtt): the registry lookups and the meter_shadows updates that commit in
-- the same transaction as the rows they describe. Shadow updates are guarded by the device's
-- time, so a meter's offline backlog arriving late never overwrites newer state.

-- find_meter --
-- A meter by serial, with its enabled registers (an empty list when it has none)
SELECT r.id AS meter_id,
       coalesce(jsonb_agg(jsonb_build_object(
                    'register_id', g.register_id, 'element', g.element,
                    'direction_reversed', g.direction_reversed))
                FILTER (WHERE g.register_id IS NOT NULL), '[]') AS registers
  FROM wattline.meter_registry r
  LEFT JOIN wattline.meter_registers g ON g.meter_id = r.id AND g.status = 'enabled'
 WHERE r.serial = %(serial)s
 GROUP BY r.id;

-- register_meter --
-- Register a meter heard for the first time; a no-op when another process got there first
WITH meter AS (
    INSERT INTO wattline.meter_registry (serial, name) VALUES (%(serial)s, %(serial)s)
    ON CONFLICT (serial) DO NOTHING
    RETURNING id
)
INSERT INTO wattline.meter_shadows (id) SELECT id FROM meter;

-- add_register --
-- An enabled register for an element the meter has none for yet
INSERT INTO wattline.meter_registers (meter_id, element) VALUES (%(meter_id)s, %(element)s)
ON CONFLICT DO NOTHING;

-- mark_meter_seen --
-- last_seen_at is our receive time: "offline" means we have not heard from the meter
INSERT INTO wattline.meter_shadows (id, last_seen_at) VALUES (%(meter_id)s, %(seen_at)s)
ON CONFLICT (id) DO UPDATE
   SET last_seen_at = greatest(meter_shadows.last_seen_at, excluded.last_seen_at),
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
