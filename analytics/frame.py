"""Named query results straight into Polars frames, without a Python dict per row: for the
analytics jobs, whose inputs run to millions of rows."""

from __future__ import annotations

import io

import polars as pl
import psycopg
from psycopg import sql as pgsql
from psycopg.rows import tuple_row

from sql import queries

# How PostgreSQL writes a timestamptz in text: "2024-01-30 16:15:00+00", fractions optional.
PG_TIMESTAMPTZ = "%Y-%m-%d %H:%M:%S%.f%#z"


def fetched(conn: psycopg.Connection, name: str, params: dict, schema: dict) -> pl.DataFrame:
    """The named query's rows as tuples, then a frame: for results of thousands of rows, with
    text and NULLs anywhere (CSV could not tell NULL from an empty string)."""
    with conn.cursor(row_factory=tuple_row) as cur:
        rows = cur.execute(queries.get(name), params).fetchall()
    return pl.DataFrame(rows, schema=schema, orient="row")


def copied(conn: psycopg.Connection, name: str, params: dict, schema: dict) -> pl.DataFrame:
    """The named query through COPY ... TO STDOUT as CSV, parsed by Polars: for results of
    millions of rows. Timestamp columns (``pl.Datetime`` in ``schema``) arrive as text and are
    parsed with their offsets, to UTC. Text columns must not hold empty strings (CSV reads them
    as NULL)."""
    statement = pgsql.SQL("COPY ({}) TO STDOUT (FORMAT csv, HEADER)").format(
        pgsql.SQL(queries.get(name).rstrip().rstrip(";"))  # a query file's text, never values
    )
    out = io.BytesIO()
    with conn.cursor() as cur, cur.copy(statement, params) as copy:
        for block in copy:
            out.write(block)
    times = [c for c, t in schema.items() if isinstance(t, pl.Datetime)]
    read = {c: pl.String if c in times else t for c, t in schema.items()}
    if not out.getbuffer().nbytes:
        return pl.DataFrame(schema=schema)
    frame = pl.read_csv(out.getvalue(), schema=read)
    return frame.with_columns(
        pl.col(c).str.to_datetime(PG_TIMESTAMPTZ, time_unit="us").dt.convert_time_zone("UTC")
        for c in times
    ).cast(schema)
