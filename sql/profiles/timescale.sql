-- The `timescale` storage profile: raw series are hypertables with compression and retention
-- policies, rollups are continuous aggregates with refresh policies and real-time aggregation.
-- The migrations call these functions; postgres.sql defines the same functions for plain
-- PostgreSQL, so every table and aggregate is written once.

CREATE EXTENSION IF NOT EXISTS timescaledb;

CREATE OR REPLACE FUNCTION wattline_admin.create_series(
    relation regclass, time_column text, chunk_interval interval, segment_by text,
    compress_after interval DEFAULT NULL, retain_for interval DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM create_hypertable(relation, by_range(time_column, chunk_interval),
                              if_not_exists => true);
    IF compress_after IS NOT NULL THEN
        -- Segmenting by device keeps one device's readings together, so "a device's range of
        -- time" reads one segment and decompresses nothing else.
        EXECUTE format('ALTER TABLE %s SET (timescaledb.compress, '
                       'timescaledb.compress_segmentby = %L, timescaledb.compress_orderby = %L)',
                       relation, segment_by, time_column || ' DESC');
        PERFORM add_compression_policy(relation, compress_after, if_not_exists => true);
    END IF;
    IF retain_for IS NOT NULL THEN
        PERFORM add_retention_policy(relation, retain_for, if_not_exists => true);
    END IF;
    INSERT INTO wattline_admin.series
    VALUES (relation, time_column, chunk_interval, segment_by, compress_after, retain_for)
    ON CONFLICT ON CONSTRAINT series_pkey DO UPDATE SET chunk_interval = EXCLUDED.chunk_interval,
        segment_by = EXCLUDED.segment_by, compress_after = EXCLUDED.compress_after,
        retain_for = EXCLUDED.retain_for;
END $$;

-- `query` reads its source as `{source}`: here that is the hypertable itself.
CREATE OR REPLACE FUNCTION wattline_admin.create_rollup(
    name text, source regclass, bucket_width interval, key_columns text, query text,
    refresh_start interval, refresh_end interval, refresh_every interval)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- materialized_only = false: readings newer than the last refresh are aggregated on the fly,
    -- so dashboards never lag behind the refresh policy.
    EXECUTE format('CREATE MATERIALIZED VIEW wattline.%I WITH (timescaledb.continuous, '
                   'timescaledb.materialized_only = false) AS %s WITH NO DATA',
                   name, replace(query, '{source}', source::text));
    PERFORM add_continuous_aggregate_policy(format('wattline.%I', name)::regclass,
        start_offset => refresh_start, end_offset => refresh_end,
        schedule_interval => refresh_every);
    INSERT INTO wattline_admin.rollups
    VALUES (name, source, bucket_width, key_columns, query, refresh_start, refresh_end,
            refresh_every);
    -- The policy refreshes only its window; `wattline migrate` fills the rest (bootstrap.sql).
    INSERT INTO wattline_admin.rollup_backfills VALUES (name) ON CONFLICT DO NOTHING;
END $$;

-- Retention and compression run as TimescaleDB background jobs; nothing for `wattline jobs` to do.
CREATE OR REPLACE FUNCTION wattline_admin.apply_retention() RETURNS bigint
LANGUAGE sql AS $$ SELECT 0::bigint $$;

-- drop_chunks removes rows without any DML, so the statement triggers that tell ingest writers
-- their remembered last readings are stale (0011) never fire: a writer would then compute the
-- next reading's delta from a reading that is gone, unlike any other writer. Drop chunks of the
-- series through this instead; it bumps the writer slots of the relation in the same transaction.
-- (The extension lives in whichever schema led the search path at CREATE EXTENSION: wattline.)
CREATE OR REPLACE FUNCTION wattline_admin.drop_chunks(relation regclass, older_than interval)
RETURNS SETOF text LANGUAGE plpgsql SET search_path = wattline, public AS $$
BEGIN
    UPDATE wattline_admin.writer_slots w SET writer = NULL, version = w.version + 1
      FROM (SELECT slot FROM wattline_admin.writer_slots
             WHERE target = (SELECT relname FROM pg_class WHERE oid = relation)
             ORDER BY slot FOR UPDATE) locked
     WHERE w.target = (SELECT relname FROM pg_class WHERE oid = relation)
       AND w.slot = locked.slot;
    RETURN QUERY SELECT drop_chunks(relation, older_than => older_than);
END $$;
