-- Run by `wattline migrate` before anything else, every time; every statement is idempotent.
-- It holds only what the migration runner itself needs: the schemas, the record of applied
-- migrations, the storage profile the database was built with, and the registries the profile
-- functions (profiles/*.sql) keep.

CREATE SCHEMA IF NOT EXISTS wattline;
-- Internal machinery (profile functions, rollup bookkeeping). Reporting users never see it.
CREATE SCHEMA IF NOT EXISTS wattline_admin;

CREATE TABLE IF NOT EXISTS wattline_admin.schema_migrations (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);

-- One row: the profile chosen at the first migrate. Switching profiles on a built database would
-- leave tables of one kind with functions of the other, so the runner refuses it.
CREATE TABLE IF NOT EXISTS wattline_admin.storage (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    profile     text NOT NULL CHECK (profile IN ('timescale', 'postgres')),
    chosen_at   timestamptz NOT NULL DEFAULT now()
);

-- Every raw time series, with the settings each profile applies in its own way.
CREATE TABLE IF NOT EXISTS wattline_admin.series (
    relation        regclass PRIMARY KEY,
    time_column     text NOT NULL,
    chunk_interval  interval NOT NULL,
    segment_by      text,
    compress_after  interval,
    retain_for      interval
);

-- Every rollup: one query, realised as a continuous aggregate or as a table kept by refresh.
CREATE TABLE IF NOT EXISTS wattline_admin.rollups (
    name            text PRIMARY KEY,
    source          regclass NOT NULL,
    bucket_width    interval NOT NULL,
    key_columns     text NOT NULL,
    query           text NOT NULL,
    refresh_start   interval NOT NULL,
    refresh_end     interval NOT NULL,
    refresh_every   interval NOT NULL
);

-- postgres profile only: time ranges of a rollup's source that changed since its last refresh,
-- written by statement triggers (the same job TimescaleDB's invalidation log does).
CREATE TABLE IF NOT EXISTS wattline_admin.rollup_invalidations (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rollup  text NOT NULL,
    lo      timestamptz NOT NULL,
    hi      timestamptz NOT NULL
);

-- timescale profile only: continuous aggregates created by a migration and not yet refreshed
-- in full. One created WITH NO DATA over rows already stored would otherwise only ever
-- materialise its policy's window, and hide older buckets once the watermark passes them.
-- `wattline migrate` refreshes each after the migrations (outside a transaction, as TimescaleDB
-- requires) and deletes its row, so a run that stops half-way finishes on the next.
CREATE TABLE IF NOT EXISTS wattline_admin.rollup_backfills (
    rollup  text PRIMARY KEY
);
