-- Lets a writer compute register deltas itself and COPY rows straight into meter_values and
-- register_readings, instead of staging and merging every row (0004), which costs three times
-- the COPY. A writer keeps the last reading of each series it has written; that is only right
-- while nobody else has written the series since. Series hash into 64 slots per target; every
-- writer transaction locks the slots it touches (in slot order, so writers never deadlock) and
-- bumps their version. A writer that finds a slot last bumped by itself, at the version it left,
-- knows its cached readings for that slot are current; otherwise it forgets them and goes
-- through the merge for those series.
CREATE TABLE wattline_admin.writer_slots (
    target   text NOT NULL,
    slot     integer NOT NULL,
    writer   text,          -- who bumped it last; NULL after a write by anything but a writer
    version  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (target, slot)
);
INSERT INTO wattline_admin.writer_slots (target, slot)
SELECT t, s FROM unnest(ARRAY['meter_values', 'register_readings']) t, generate_series(0, 63) s;

-- Any other write (a manual correction, a fixture, a retention delete, a direct merge call)
-- bumps every slot of the target, so every writer re-reads the series it needs. Writers set
-- wattline.writer on their sessions and bump their own slots. SECURITY DEFINER: a role allowed
-- to write the series need not be allowed to touch wattline_admin.
CREATE FUNCTION wattline_admin.writer_slots_touched() RETURNS trigger
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

-- Statement triggers, without transition tables: hypertables support these.
CREATE TRIGGER wattline_writer_slots AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON wattline.meter_values FOR EACH STATEMENT
    EXECUTE FUNCTION wattline_admin.writer_slots_touched('meter_values');
CREATE TRIGGER wattline_writer_slots AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON wattline.register_readings FOR EACH STATEMENT
    EXECUTE FUNCTION wattline_admin.writer_slots_touched('register_readings');
