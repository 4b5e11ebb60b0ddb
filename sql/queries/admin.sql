-- relations --
-- Every table, view and rollup in schema wattline, with its kind in this storage profile.
SELECT c.relname AS name,
       CASE WHEN r.name IS NOT NULL AND c.relkind = 'v' THEN 'continuous aggregate'
            WHEN r.name IS NOT NULL THEN 'rollup table'
            WHEN s.relation IS NOT NULL AND %(profile)s = 'timescale' THEN 'hypertable'
            WHEN s.relation IS NOT NULL THEN 'series table'
            WHEN c.relkind = 'v' THEN 'view'
            ELSE 'table' END AS kind
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN wattline_admin.rollups r ON r.name = c.relname
  LEFT JOIN wattline_admin.series s ON s.relation = c.oid
 WHERE n.nspname = 'wattline' AND c.relkind IN ('r', 'v', 'm', 'p')
 ORDER BY 2, 1;

-- applied_migrations --
SELECT version, name, applied_at FROM wattline_admin.schema_migrations ORDER BY version;

-- interface_columns --
-- The SQL reporting interface (every rollup and view in schema wattline) with the comments
-- migration 0030 and later give each relation and column, for docs/sql.md.
SELECT c.relname AS relation,
       CASE WHEN r.name IS NOT NULL THEN 'rollup' ELSE 'view' END AS kind,
       obj_description(c.oid, 'pg_class') AS relation_comment,
       a.attname AS column_name,
       format_type(a.atttypid, a.atttypmod) AS column_type,
       col_description(c.oid, a.attnum) AS column_comment
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN wattline_admin.rollups r ON r.name = c.relname
 WHERE n.nspname = 'wattline' AND (c.relkind IN ('v', 'm') OR r.name IS NOT NULL)
 ORDER BY r.name IS NULL, c.relname, a.attnum;
