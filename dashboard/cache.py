"""Streamlit caching around data.py: one read-only pool per DSN for the whole server, and query
results cached for a few seconds per set of widget values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl
import streamlit as st
from psycopg_pool import ConnectionPool

from analytics import session_report_job
from analytics.completeness import completeness_report, expected_interval_s
from dashboard import data
from sql import db

TTL_S = 5


@st.cache_resource(on_release=lambda pool: pool.close())
def reader_pool(dsn: str) -> ConnectionPool:
    return db.pool(dsn, min_size=1, max_size=4, name="wattline-dashboard")


@st.cache_data(ttl=TTL_S, show_spinner=False)
def frame(dsn: str, query: str, **params: Any) -> pl.DataFrame:
    with reader_pool(dsn).connection() as conn:
        return data.frame(conn, query, params)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def scalar(dsn: str, query: str, **params: Any) -> Any:
    with reader_pool(dsn).connection() as conn:
        return data.scalar(conn, query, params)


def series(dsn: str, query: str, lo: datetime, hi: datetime, **params: Any) -> pl.DataFrame:
    """A time series in buckets wide enough to keep a chart under ``data.MAX_POINTS``."""
    return frame(dsn, query, lo=lo, hi=hi, bucket=data.bucket_for(hi - lo), **params)


@st.cache_data(ttl=60, show_spinner=False)
def completeness(dsn: str, lo: datetime, hi: datetime) -> pl.DataFrame:
    """Expected vs received samples per device and UTC day (analytics/completeness.py)."""
    with reader_pool(dsn).connection() as conn:
        return completeness_report(conn, lo, hi, expected_interval_s())


# Sessions: the report's own code (analytics/session_report_job.py), as the API's and the CLI's,
# so a time-of-use session costs the same on every surface.
@st.cache_data(ttl=TTL_S, show_spinner=False)
def session_report(dsn: str, lo: datetime, hi: datetime) -> pl.DataFrame:
    """Sessions started in [lo, hi), newest first."""
    with reader_pool(dsn).connection() as conn:
        report = session_report_job.sessions(conn, lo, hi)
    return report.sort("started_at", "transaction_id", descending=True, nulls_last=True)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def session_page(dsn: str, limit: int, offset: int, **filters: Any) -> tuple[pl.DataFrame, int]:
    with reader_pool(dsn).connection() as conn:
        return session_report_job.page(conn, limit, offset, **filters)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def session_count(dsn: str, **filters: Any) -> int:
    with reader_pool(dsn).connection() as conn:
        return session_report_job.count(conn, **filters)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def sessions_of(dsn: str, ids: tuple[int, ...]) -> pl.DataFrame:
    with reader_pool(dsn).connection() as conn:
        return session_report_job.of(conn, list(ids))
