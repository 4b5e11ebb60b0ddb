-- Migration 0015 (65,536 writer slots a target and one epoch per target) was committed, applied
-- on some databases, then reverted in the code: writers hash series into 64 slots again (0011),
-- and 0015 is retired (sql/migrate.py RETIRED). On a database that ran 0015 this puts back what
-- 0011 built; anywhere else it changes nothing.
--
-- The 0011 trigger function: a write by anything but a writer bumps every slot of the target.
-- Under 0015 such a write bumped only the epoch, which today's writers do not read.
CREATE OR REPLACE FUNCTION wattline_admin.writer_slots_touched() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF coalesce(current_setting('wattline.writer', true), '') = '' THEN
        UPDATE wattline_admin.writer_slots w SET writer = NULL, version = w.version + 1
          FROM (SELECT slot FROM wattline_admin.writer_slots
                 WHERE target = TG_ARGV[0] ORDER BY slot FOR UPDATE) locked
         WHERE w.target = TG_ARGV[0] AND w.slot = locked.slot;
    END IF;
    RETURN NULL;
END $$;

DO $$
BEGIN
    IF to_regclass('wattline_admin.writer_epochs') IS NULL
       AND NOT EXISTS (SELECT 1 FROM wattline_admin.writer_slots WHERE slot >= 64) THEN
        RETURN;  -- 0015 never ran here
    END IF;
    DELETE FROM wattline_admin.writer_slots WHERE slot >= 64;
    DROP TABLE IF EXISTS wattline_admin.writer_epochs;
    -- While 0015 was in force, writes outside the writers left the 64 slots alone: no writer's
    -- memory of a series can be trusted, so every slot tells every writer to re-read.
    UPDATE wattline_admin.writer_slots SET writer = NULL, version = version + 1;
END $$;
