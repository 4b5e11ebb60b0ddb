"""Shared set-up for the benchmarks: a scratch database of their own, and a result table."""

from __future__ import annotations

import os
import platform
import time
from contextlib import contextmanager

import psycopg
from psycopg import sql as pgsql

from sql import db
from sql.migrate import migrate

# The storage profile a benchmark runs on (`python -m bench` runs some on both), and the server
# of that profile: the local PostgreSQL, or the TimescaleDB cluster scripts/setup runs.
PROFILE = os.environ.get("WATTLINE_BENCH_PROFILE", "postgres")
ADMIN_URLS = {
    "postgres": os.environ.get("WATTLINE_BENCH_ADMIN_URL", "postgresql://127.0.0.1:5432/postgres"),
    "timescale": os.environ.get(
        "WATTLINE_BENCH_TIMESCALE_URL", "postgresql://postgres@127.0.0.1:5433/postgres"
    ),
}
ADMIN_URL = ADMIN_URLS[PROFILE]


def fresh_database(name: str) -> str:
    """Drop and re-create ``name``, migrated in the benchmark's profile; returns its URL.

    TimescaleDB's policies are unscheduled there: a benchmark loads data dated in the past,
    which a compression job would start compressing mid-measurement; the benchmarks refresh
    and compress when they mean to."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(
            pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pgsql.Identifier(name))
        )
    params = psycopg.conninfo.conninfo_to_dict(ADMIN_URL)
    params["dbname"] = name
    url = psycopg.conninfo.make_conninfo(**params)
    migrate(url, PROFILE)
    if PROFILE == "timescale":
        with connect(url, autocommit=True) as conn:
            conn.execute(
                "SELECT alter_job(job_id, scheduled => false) FROM timescaledb_information.jobs"
            )
    return url


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, " + (
        f"Python {platform.python_version()}"
    )


@contextmanager
def timed():
    box = {}
    start = time.perf_counter()
    yield box
    box["seconds"] = time.perf_counter() - start


def table(title: str, rows: list[tuple], header: tuple) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    line = "| " + " | ".join(f"{{:<{w}}}" for w in widths) + " |"
    out = [title, "", line.format(*header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line.format(*map(str, r)) for r in rows]
    return "\n".join(out)


def connect(url: str, **kwargs) -> psycopg.Connection:
    return psycopg.connect(db.with_session_options(url), **kwargs)
