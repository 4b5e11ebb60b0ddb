-- 0011 hashed series into 64 slots per target, and a writer holds the slots its batch touches
-- until it commits: with so few, the batches of two ingest processes always shared some, so
-- writers of disjoint devices took turns and each re-read every series the other's slots held.
-- With 65,536 slots per target, two OCPP processes of 1,000 chargers each share ~15 slots (1.5%
-- of their series are re-read now and then) and two concurrent batches of 50 series share one
-- about once in 25 pairs; writers of the same device still wait for each other, as they must.
-- A batch locks one slot row per series it touches, however many slots there are.
-- Every process must run a writer of this version (series_cache.SLOTS = 65536) once applied.
INSERT INTO wattline_admin.writer_slots (target, slot)
SELECT t, s FROM unnest(ARRAY['meter_values', 'register_readings']) t, generate_series(64, 65535) s;

-- A write by anything but a writer used to bump every slot of the target; with 65,536 that is
-- 65,536 row updates for every manual statement or retention delete. It bumps one epoch per target
-- now, which every writer reads (FOR SHARE, so writers never wait for each other on it) in the
-- statement that claims its slots, and on a change forgets every series of the target.
CREATE TABLE wattline_admin.writer_epochs (
    target  text PRIMARY KEY,
    epoch   bigint NOT NULL DEFAULT 0
);
INSERT INTO wattline_admin.writer_epochs (target) VALUES ('meter_values'), ('register_readings');

CREATE OR REPLACE FUNCTION wattline_admin.writer_slots_touched() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF coalesce(current_setting('wattline.writer', true), '') = '' THEN
        UPDATE wattline_admin.writer_epochs SET epoch = epoch + 1 WHERE target = TG_ARGV[0];
    END IF;
    RETURN NULL;
END $$;
