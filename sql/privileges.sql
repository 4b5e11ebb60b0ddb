-- What `wattline migrate` may do as the role it connects as (sql/privileges.py asks before acting).
SELECT r.rolname AS role,
       r.rolsuper AS superuser,
       r.rolcreatedb AS createdb,
       r.rolcreaterole AS createrole,
       (SELECT datname FROM pg_database WHERE datname = %(database)s) IS NOT NULL AS database_exists,
       EXISTS (SELECT FROM pg_roles WHERE rolname = 'wattline_reader') AS reader_exists
  FROM pg_roles r
 WHERE r.rolname = current_user;
