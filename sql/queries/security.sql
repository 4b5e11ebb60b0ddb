-- Who may connect (charge points, meters) and what is recorded when someone may not (0019).

-- record_security_events --
INSERT INTO wattline.security_events (time, source, identity, remote_address, event, details)
SELECT * FROM unnest(%(times)s::timestamptz[], %(sources)s::text[], %(identities)s::text[],
                     %(addresses)s::text[], %(events)s::text[], %(details)s::jsonb[]);

-- charge_point_presence --
-- A session-level lock per identity, held by the process holding its connection: no two
-- processes hold one identity at once, and a process that dies takes its locks with its session.
-- Asked for many identities at once (a fleet reconnecting): one round trip, not one each.
SELECT id, pg_try_advisory_lock(('x' || left(md5('wattline.cp:' || id), 16))::bit(64)::bigint)
       AS held
  FROM unnest(%(charge_point_ids)s::text[]) AS id;

-- charge_point_absence --
SELECT pg_advisory_unlock(('x' || left(md5('wattline.cp:' || id), 16))::bit(64)::bigint)
  FROM unnest(%(charge_point_ids)s::text[]) AS id;

-- rehash_password --
-- Only if nobody changed the password meanwhile.
UPDATE wattline.charge_points SET password_hash = %(new_hash)s
 WHERE id = %(charge_point_id)s AND password_hash = %(old_hash)s;

-- set_password_hash --
-- The charge point accepted a new AuthorizationKey: it will log in with that from now on.
UPDATE wattline.charge_points SET password_hash = %(password_hash)s WHERE id = %(charge_point_id)s;

-- take_command_secret --
DELETE FROM wattline_admin.command_secrets WHERE command_id = %(command_id)s RETURNING value;

-- save_meter --
-- A meter registered ahead of its first message, with an enabled register per element.
WITH meter AS (
    INSERT INTO wattline.meter_registry (serial, name, kind)
    VALUES (%(serial)s, %(serial)s, %(kind)s)
    ON CONFLICT (serial) DO UPDATE SET kind = EXCLUDED.kind, updated_at = now()
    RETURNING id
), shadow AS (
    INSERT INTO wattline.meter_shadows (id) SELECT id FROM meter ON CONFLICT DO NOTHING
)
INSERT INTO wattline.meter_registers (meter_id, element)
SELECT meter.id, element FROM meter, unnest(%(elements)s::text[]) AS element
ON CONFLICT DO NOTHING;
