-- The `postgres` storage profile, for PostgreSQL without TimescaleDB (many managed services):
-- raw series are plain tables with a BRIN index on time; rollups are ordinary tables with the
-- same columns as the continuous aggregates, kept by an idempotent, windowed refresh that
-- `wattline jobs` runs. The functions have the same signatures as in timescale.sql.

-- TimescaleDB's time_bucket for the widths we use (minutes, hours, days). Its default origin is
-- Monday 2000-01-03 UTC, so buckets line up with the timescale profile's to the microsecond.
CREATE OR REPLACE FUNCTION wattline.time_bucket(bucket_width interval, ts timestamptz)
RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT date_bin(bucket_width, ts, timestamptz '2000-01-03 00:00:00+00')
$$;

-- TimescaleDB's last(value, time) and first(value, time), for the numeric columns rollups use.
-- They live in schema wattline with their state type, so that wattline_reader, which sees
-- nothing of wattline_admin, can call them in its own queries.
DO $$ BEGIN
    CREATE TYPE wattline.numeric_at AS (v numeric, t timestamptz);
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

CREATE OR REPLACE FUNCTION wattline.numeric_later(s wattline.numeric_at, v numeric, t timestamptz)
RETURNS wattline.numeric_at LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN t IS NULL THEN s
                WHEN s IS NULL OR t >= s.t THEN ROW(v, t)::wattline.numeric_at
                ELSE s END
$$;

CREATE OR REPLACE FUNCTION wattline.numeric_earlier(s wattline.numeric_at, v numeric,
                                                    t timestamptz)
RETURNS wattline.numeric_at LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN t IS NULL THEN s
                WHEN s IS NULL OR t < s.t THEN ROW(v, t)::wattline.numeric_at
                ELSE s END
$$;

CREATE OR REPLACE FUNCTION wattline.numeric_at_value(s wattline.numeric_at)
RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT s.v $$;

CREATE OR REPLACE AGGREGATE wattline.last(numeric, timestamptz) (
    SFUNC = wattline.numeric_later, STYPE = wattline.numeric_at,
    FINALFUNC = wattline.numeric_at_value);

CREATE OR REPLACE AGGREGATE wattline.first(numeric, timestamptz) (
    SFUNC = wattline.numeric_earlier, STYPE = wattline.numeric_at,
    FINALFUNC = wattline.numeric_at_value);

CREATE OR REPLACE FUNCTION wattline_admin.create_series(
    relation regclass, time_column text, chunk_interval interval, segment_by text,
    compress_after interval DEFAULT NULL, retain_for interval DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    relname text := (SELECT c.relname FROM pg_class c WHERE c.oid = relation);
BEGIN
    -- Rows arrive roughly in time order, so a BRIN index answers time-range scans at a tiny
    -- fraction of a B-tree's size; per-device ranges use the natural-key index.
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s USING brin (%I)',
                   relname || '_time_brin', relation, time_column);
    INSERT INTO wattline_admin.series
    VALUES (relation, time_column, chunk_interval, segment_by, compress_after, retain_for)
    ON CONFLICT ON CONSTRAINT series_pkey DO UPDATE SET chunk_interval = EXCLUDED.chunk_interval,
        segment_by = EXCLUDED.segment_by, compress_after = EXCLUDED.compress_after,
        retain_for = EXCLUDED.retain_for;
END $$;

-- Records which time range of a source changed, once per statement (COPY included), for every
-- rollup fed by it.
CREATE OR REPLACE FUNCTION wattline_admin.log_invalidation() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    lo timestamptz;
    hi timestamptz;
BEGIN
    IF TG_OP = 'DELETE' THEN
        EXECUTE format('SELECT min(%1$I), max(%1$I) FROM old_rows', TG_ARGV[0]) INTO lo, hi;
    ELSIF TG_OP = 'UPDATE' THEN
        EXECUTE format('SELECT min(t), max(t) FROM (SELECT %1$I AS t FROM old_rows '
                       'UNION ALL SELECT %1$I FROM new_rows) u', TG_ARGV[0]) INTO lo, hi;
    ELSE
        EXECUTE format('SELECT min(%1$I), max(%1$I) FROM new_rows', TG_ARGV[0]) INTO lo, hi;
    END IF;
    IF lo IS NOT NULL THEN
        INSERT INTO wattline_admin.rollup_invalidations (rollup, lo, hi)
        SELECT r.name, lo, hi FROM wattline_admin.rollups r WHERE r.source = TG_RELID;
    END IF;
    RETURN NULL;
END $$;

-- `query` reads its source as `{source}`: the whole table here, a time window in refresh.
CREATE OR REPLACE FUNCTION wattline_admin.create_rollup(
    name text, source regclass, bucket_width interval, key_columns text, query text,
    refresh_start interval, refresh_end interval, refresh_every interval)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    time_column text := (SELECT s.time_column FROM wattline_admin.series s
                          WHERE s.relation = source);
    first_time timestamptz;
    last_time timestamptz;
BEGIN
    EXECUTE format('CREATE TABLE wattline.%I AS %s WITH NO DATA',
                   name, replace(query, '{source}', source::text));
    EXECUTE format('ALTER TABLE wattline.%I ADD PRIMARY KEY (%s)', name, key_columns);
    INSERT INTO wattline_admin.rollups
    VALUES (name, source, bucket_width, key_columns, query, refresh_start, refresh_end,
            refresh_every);
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                    WHERE tgrelid = source AND tgname = 'wattline_invalidate_insert') THEN
        EXECUTE format('CREATE TRIGGER wattline_invalidate_insert AFTER INSERT ON %s '
                       'REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT '
                       'EXECUTE FUNCTION wattline_admin.log_invalidation(%L)', source, time_column);
        EXECUTE format('CREATE TRIGGER wattline_invalidate_update AFTER UPDATE ON %s '
                       'REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows '
                       'FOR EACH STATEMENT '
                       'EXECUTE FUNCTION wattline_admin.log_invalidation(%L)', source, time_column);
        EXECUTE format('CREATE TRIGGER wattline_invalidate_delete AFTER DELETE ON %s '
                       'REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT '
                       'EXECUTE FUNCTION wattline_admin.log_invalidation(%L)', source, time_column);
    END IF;
    -- Rows already in the source count as changed, so the first refresh covers them.
    EXECUTE format('SELECT min(%1$I), max(%1$I) FROM %2$s', time_column, source)
        INTO first_time, last_time;
    IF first_time IS NOT NULL THEN
        INSERT INTO wattline_admin.rollup_invalidations (rollup, lo, hi)
        VALUES (name, first_time, last_time);
    END IF;
END $$;

-- Recomputes every bucket that overlaps [lo, hi] from the source rows in those buckets only.
-- Idempotent: running it twice gives the same rows.
CREATE OR REPLACE FUNCTION wattline_admin.refresh_rollup(rollup_name text, lo timestamptz,
                                                         hi timestamptz)
RETURNS void LANGUAGE plpgsql SET search_path = wattline, public AS $$
DECLARE
    r wattline_admin.rollups;
    time_column text;
    window_lo timestamptz;
    window_hi timestamptz;
BEGIN
    SELECT * INTO STRICT r FROM wattline_admin.rollups WHERE name = rollup_name;
    SELECT s.time_column INTO STRICT time_column FROM wattline_admin.series s
     WHERE s.relation = r.source;
    window_lo := wattline.time_bucket(r.bucket_width, lo);
    window_hi := wattline.time_bucket(r.bucket_width, hi) + r.bucket_width;
    EXECUTE format('DELETE FROM wattline.%I WHERE bucket >= $1 AND bucket < $2', r.name)
        USING window_lo, window_hi;
    -- Buckets are aligned to the window, so a bucket's rows are exactly the source rows whose
    -- time falls inside the window: the filter can use the time index.
    EXECUTE format('INSERT INTO wattline.%I %s', r.name,
                   replace(r.query, '{source}',
                           format('(SELECT * FROM %s WHERE %I >= $1 AND %I < $2)',
                                  r.source, time_column, time_column)))
        USING window_lo, window_hi;
END $$;

-- Refreshes whatever changed since the last call. Concurrent callers queue on an advisory lock
-- instead of recomputing the same buckets twice.
CREATE OR REPLACE FUNCTION wattline_admin.refresh_pending(rollup_name text)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    width interval := (SELECT bucket_width FROM wattline_admin.rollups WHERE name = rollup_name);
    upto bigint;
    span tstzrange;
    n integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('wattline.refresh'), hashtext(rollup_name));
    SELECT max(id) INTO upto FROM wattline_admin.rollup_invalidations WHERE rollup = rollup_name;
    IF upto IS NULL THEN
        RETURN 0;
    END IF;
    FOR span IN
        SELECT unnest(range_agg(tstzrange(wattline.time_bucket(width, lo),
                                          wattline.time_bucket(width, hi) + width)))
          FROM wattline_admin.rollup_invalidations
         WHERE rollup = rollup_name AND id <= upto
    LOOP
        PERFORM wattline_admin.refresh_rollup(rollup_name, lower(span),
                                              upper(span) - width);
        n := n + 1;
    END LOOP;
    DELETE FROM wattline_admin.rollup_invalidations WHERE rollup = rollup_name AND id <= upto;
    RETURN n;
END $$;

-- Deletes rows past each series' retention, as TimescaleDB's retention policy does there.
CREATE OR REPLACE FUNCTION wattline_admin.apply_retention() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    s wattline_admin.series;
    n bigint;
    total bigint := 0;
BEGIN
    FOR s IN SELECT * FROM wattline_admin.series WHERE retain_for IS NOT NULL LOOP
        EXECUTE format('DELETE FROM %s WHERE %I < now() - $1', s.relation, s.time_column)
            USING s.retain_for;
        GET DIAGNOSTICS n = ROW_COUNT;
        total := total + n;
    END LOOP;
    RETURN total;
END $$;
