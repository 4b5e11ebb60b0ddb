"""Running the dashboard's named queries (sql/queries/dashboard.sql) into Polars frames. Plain
functions over a connection, so tests call them without Streamlit; cache.py wraps them."""

from __future__ import annotations

import io
import math
from datetime import timedelta
from typing import Any

import polars as pl
import psycopg

from analytics import csv_export
from sql import queries

MAX_POINTS = 1000  # a Plotly line stays smooth up to about this many points per series
_NICE_BUCKETS = [
    timedelta(seconds=s)
    for s in (10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400)
]


def frame(
    conn: psycopg.Connection, name: str, params: dict[str, Any] | None = None
) -> pl.DataFrame:
    """The named query's rows as a frame; an empty result keeps its column names."""
    cur = conn.execute(queries.get(name), params or {})
    columns = [d.name for d in cur.description or []]
    rows = cur.fetchall()
    data = {c: [row[c] for row in rows] for c in columns}
    return pl.DataFrame(data, strict=False)


def scalar(conn: psycopg.Connection, name: str, params: dict[str, Any] | None = None) -> Any:
    row = conn.execute(queries.get(name), params or {}).fetchone()
    return None if row is None else next(iter(row.values()))


def bucket_for(span: timedelta, max_points: int = MAX_POINTS) -> timedelta:
    """The smallest round bucket that keeps ``span`` under ``max_points`` buckets."""
    for width in _NICE_BUCKETS:
        if span / width <= max_points:
            return width
    return timedelta(days=math.ceil(span / timedelta(days=1) / max_points))


def page_count(total: int, page_size: int) -> int:
    return max(1, math.ceil(total / page_size))


def to_csv(df: pl.DataFrame) -> bytes:
    return csv_export.write_csv(_plain(df))


def to_parquet(df: pl.DataFrame) -> bytes:
    out = io.BytesIO()
    df.write_parquet(out)
    return out.getvalue()


def _plain(df: pl.DataFrame) -> pl.DataFrame:
    # CSV has no duration type: write intervals as seconds, which every tool reads.
    return df.with_columns(
        pl.col(c).dt.total_seconds() for c, t in df.schema.items() if isinstance(t, pl.Duration)
    )
