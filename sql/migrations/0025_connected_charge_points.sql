-- Which charge points a central system process holds a connection for now (issue 16: the API's
-- `connected`). The process holding a connection holds a session-level advisory lock keyed by
-- the charge point's identity (ingest/ocpp/presence.py, charge_point_presence in
-- sql/queries/security.sql), and a process that dies loses its locks with its session, so the
-- lock table is the truth: no flag to go stale after a crash. pg_locks shows a bigint advisory
-- key as classid (high 32 bits) and objid (low 32 bits) with objsubid 1.
CREATE FUNCTION wattline.charge_point_lock_key(p_charge_point_id text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ('x' || left(md5('wattline.cp:' || p_charge_point_id), 16))::bit(64)::bigint
$$;

CREATE VIEW wattline.connected_charge_points AS
SELECT cp.id AS charge_point_id
  FROM wattline.charge_points cp
 WHERE wattline.charge_point_lock_key(cp.id) IN (
        SELECT (l.classid::int8 << 32) | l.objid::int8
          FROM pg_locks l
         WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()));
