"""`wattline jobs`: periodic work that keeps derived data current.

Today: rollup refresh and retention in the postgres profile (TimescaleDB's own policies do both
in the timescale profile). Every step is idempotent, so a crash or an overlap repeats work but
never corrupts results.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import psycopg
from psycopg.rows import tuple_row

from sql import rollups

log = logging.getLogger(__name__)


def run_once(conn: psycopg.Connection) -> dict[str, int]:
    """One pass; returns what each step did. ``conn`` must be in autocommit mode."""
    done: dict[str, int] = {}
    if rollups.storage_profile(conn) == "postgres":
        for name, windows in rollups.refresh(conn).items():
            done[f"refresh {name}"] = windows
        with conn.cursor(row_factory=tuple_row) as cur:
            done["retention rows deleted"] = cur.execute(
                "SELECT wattline_admin.apply_retention()"
            ).fetchone()[0]
    return done


def run_forever(
    connect: Callable[[], psycopg.Connection],
    interval_s: float,
    should_stop: Callable[[], bool] = lambda: False,
) -> None:
    """Run passes every ``interval_s``; a failed pass is logged and retried on the next tick,
    with a fresh connection in case the database went away."""
    while not should_stop():
        started = time.monotonic()
        try:
            with connect() as conn:
                log.info("jobs pass: %s", run_once(conn))
        except psycopg.Error as exc:
            log.error("jobs pass failed, retrying in %.0f s: %s", interval_s, exc)
        time.sleep(max(0.0, interval_s - (time.monotonic() - started)))
