-- Run by `wattline migrate` after the migrations, every time, so objects added by later
-- migrations are covered. Reporting tools and the dashboard connect as wattline_reader: it can
-- read the schema's tables, views and rollups and write nothing.

DO $$
BEGIN
    CREATE ROLE wattline_reader LOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- roles are cluster-wide: another database (or a concurrent migrate) made it
END $$;

-- A second line of defence: even a grant added by mistake cannot make this role write.
ALTER ROLE wattline_reader SET default_transaction_read_only = on;
ALTER ROLE wattline_reader SET search_path = wattline, public;
-- Reporting tools and connection pools prepare what they run often (psycopg after 5 runs, JDBC
-- too), and after 5 more PostgreSQL may switch to a generic plan that cannot see the values. For
-- one charge point's raw readings over a range, the generic plan guesses a few rows a chunk,
-- takes the time index and reads every charge point's rows: on TimescaleDB 394 ms for a month
-- where the custom plan, on the charge point's index, takes 69 ms (bench/dashboard_queries.py).
-- Reads here are few and large, so planning each one with its values is the cheap side.
ALTER ROLE wattline_reader SET plan_cache_mode = force_custom_plan;

-- CONNECT on the database comes from PUBLIC, as PostgreSQL grants by default; a hardened server
-- that revoked it grants it to wattline_reader itself.
GRANT USAGE ON SCHEMA wattline TO wattline_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA wattline TO wattline_reader;

-- Password hashes are nobody's business but the central system's.
REVOKE SELECT ON wattline.charge_points FROM wattline_reader;
GRANT SELECT (id, vendor, model, serial, firmware, registration_status, first_seen_at,
              last_boot_at, last_seen_at, max_power_kw, site, timezone)
    ON wattline.charge_points TO wattline_reader;
-- The OCPP version (0042): the dashboard's command buttons need it. (Guarded: a migration
-- directory that stops earlier has no such column.)
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM information_schema.columns
                WHERE table_schema = 'wattline' AND table_name = 'charge_points'
                  AND column_name = 'ocpp_version') THEN
        GRANT SELECT (ocpp_version) ON wattline.charge_points TO wattline_reader;
    END IF;
END $$;

-- Frames and commands can carry secrets (a ChangeConfiguration's AuthorizationKey, id tags, which
-- are bearer tokens for charging): the reader sees them through redacting views (0019).
REVOKE SELECT ON wattline.ocpp_messages, wattline.commands, wattline.id_tags
    FROM wattline_reader;

-- The Flows-compatible names (0031) are views over what the reader may read already. (Guarded:
-- a migration directory that stops earlier has no schema flows.)
DO $$
BEGIN
    IF to_regnamespace('flows') IS NOT NULL THEN
        GRANT USAGE ON SCHEMA flows TO wattline_reader;
        GRANT SELECT ON ALL TABLES IN SCHEMA flows TO wattline_reader;
    END IF;
END $$;

-- The local-day views (0034) and the rollups' `time` views (0035) are covered by SELECT ON ALL
-- TABLES above. The zone rule they use is the reader's too, for its own local-day queries over
-- other tables; granted by name, as a hardened server may have revoked EXECUTE from PUBLIC.
-- (Guarded: a migration directory that stops earlier has no such function.)
DO $$
BEGIN
    IF to_regprocedure('wattline.local_zone(text)') IS NOT NULL THEN
        GRANT EXECUTE ON FUNCTION wattline.local_zone(text) TO wattline_reader;
    END IF;
END $$;
