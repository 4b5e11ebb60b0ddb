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
