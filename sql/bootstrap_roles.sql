-- `wattline bootstrap`, the superuser's part (a psql script; variables from wattline/bootstrap.py).
-- Safe to run again: roles and the database are created when missing, passwords set every time.
SELECT format('CREATE ROLE %I LOGIN', :'owner')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'owner') \gexec
SELECT format('CREATE ROLE %I LOGIN', :'reader')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'reader') \gexec
-- CREATEDB: migrate creates the database when it is missing; CREATEROLE: it sets the reader's
-- session defaults (sql/grants.sql). Never SUPERUSER.
SELECT format('ALTER ROLE %I LOGIN CREATEDB CREATEROLE NOSUPERUSER PASSWORD %L',
              :'owner', :'owner_password') \gexec
SELECT format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L',
              :'reader', :'reader_password') \gexec
-- From PostgreSQL 16 on, CREATEROLE alone no longer lets a role alter other roles.
SELECT format('GRANT %I TO %I WITH ADMIN OPTION', :'reader', :'owner')
 WHERE current_setting('server_version_num')::int >= 160000 \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'database', :'owner')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'database') \gexec
\connect :database
SELECT format('CREATE SCHEMA IF NOT EXISTS wattline AUTHORIZATION %I', :'owner') \gexec
-- The extension lives in the schema that leads the search path (sql/profiles/timescale.sql).
-- Only where the server can load it; otherwise migrate chooses the postgres profile.
SET search_path = wattline, public;
SELECT 'CREATE EXTENSION IF NOT EXISTS timescaledb'
 WHERE EXISTS (SELECT FROM pg_available_extensions WHERE name = 'timescaledb')
   AND current_setting('shared_preload_libraries') ~ '(^|[ ,])timescaledb' \gexec
