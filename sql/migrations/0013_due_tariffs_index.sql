-- MQTT ingest promotes due tariffs for all meters once per group of messages (promote_due_tariffs
-- with meter_id NULL), several times a second under load. Only meters with a future tariff can
-- be due: a partial index keeps that an index scan of a handful of rows instead of a scan of
-- every meter's shadow.
CREATE INDEX meter_shadows_tariff_pending ON wattline.meter_shadows (id)
    WHERE tariffs_future IS NOT NULL;
