-- A `time` column for every rollup (issue 17), so Grafana ($__timeFilter(time)) and Metabase
-- take the time axis without aliasing `bucket`. Each rollup gets a view <rollup>_time with
-- `time` first and every rollup column after it, `bucket` included for queries written against
-- the rollup. Views rather than added columns: a continuous aggregate (timescale profile) takes
-- no new column without being dropped and re-materialised, and the rollups keep the same columns
-- in both profiles. `time` is `bucket` itself, not an expression, so a filter on it reaches the
-- rollup's bucket index.
DO $$
DECLARE
    r record;
    c record;
    view_name text;
BEGIN
    FOR r IN SELECT name, bucket_width FROM wattline_admin.rollups ORDER BY name LOOP
        view_name := r.name || '_time';
        EXECUTE format('CREATE VIEW wattline.%I AS SELECT r.bucket AS "time", r.* FROM wattline.%I r',
                       view_name, r.name);
        PERFORM wattline_admin.comment_relation(format('wattline.%I', view_name)::regclass,
            format('%s The same rows as %s, with `time` (= bucket) for BI tools.',
                   obj_description(format('wattline.%I', r.name)::regclass, 'pg_class'),
                   r.name));
        EXECUTE format('COMMENT ON COLUMN wattline.%I."time" IS %L', view_name, format(
            'Start of the bucket (timestamptz; %s; the same as bucket): the time axis for '
            'Grafana and Metabase',
            CASE WHEN r.bucket_width = INTERVAL '1 day' THEN 'one UTC day'
                 WHEN r.bucket_width = INTERVAL '1 hour' THEN 'one hour'
                 ELSE extract(epoch FROM r.bucket_width)::int / 60 || ' minutes' END));
        FOR c IN SELECT a.attname, col_description(a.attrelid, a.attnum) AS body
                   FROM pg_attribute a
                  WHERE a.attrelid = format('wattline.%I', r.name)::regclass
                    AND a.attnum > 0 AND NOT a.attisdropped
        LOOP
            EXECUTE format('COMMENT ON COLUMN wattline.%I.%I IS %L', view_name, c.attname, c.body);
        END LOOP;
    END LOOP;
END $$;
