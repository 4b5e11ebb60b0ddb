#!/usr/bin/env bash
# Runs once, when the db service starts on an empty volume (the image runs every file in
# /docker-entrypoint-initdb.d as the postgres user, through the local socket). It gives the
# read-only role its password from the compose secret, so the dashboard and Grafana can sign in
# over the network, where the image asks every connection for a password (scram-sha-256).
# `wattline migrate` grants the role what it may read (sql/grants.sql) and keeps this password.
# To change it later: ALTER ROLE wattline_reader PASSWORD '...' and rewrite the secret file.
set -euo pipefail
password=$(<"${WATTLINE_READER_PASSWORD_FILE:?}")
psql -v ON_ERROR_STOP=1 -v password="$password" --username "$POSTGRES_USER" \
    --dbname "$POSTGRES_DB" <<'SQL'
SELECT format('CREATE ROLE wattline_reader LOGIN PASSWORD %L', :'password')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'wattline_reader') \gexec
SELECT format('ALTER ROLE wattline_reader PASSWORD %L', :'password') \gexec
SQL
