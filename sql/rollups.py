"""Refreshing rollups the same way in both storage profiles.

timescale: continuous aggregates, refreshed by their policies; an explicit refresh is
``refresh_continuous_aggregate``, which must run outside a transaction.
postgres: tables kept by ``wattline_admin.refresh_pending`` (whatever changed since last time)
or ``wattline_admin.refresh_rollup`` (an explicit window).
"""

from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg import errors
from psycopg.rows import tuple_row


def _scalars(conn: psycopg.Connection, query: str, params: list | None = None) -> list:
    """First column of every row, whatever row factory the connection uses."""
    with conn.cursor(row_factory=tuple_row) as cur:
        return [row[0] for row in cur.execute(query, params)]


def storage_profile(conn: psycopg.Connection) -> str:
    try:
        with conn.transaction():
            found = _scalars(conn, "SELECT profile FROM wattline_admin.storage")
    except (errors.UndefinedTable, errors.InvalidSchemaName):
        found = []
    if not found:
        raise RuntimeError("the database has not been migrated: run `wattline migrate`")
    return found[0]


def rollup_names(conn: psycopg.Connection) -> list[str]:
    return _scalars(conn, "SELECT name FROM wattline_admin.rollups ORDER BY name")


def refresh(
    conn: psycopg.Connection,
    names: list[str] | None = None,
    lo: datetime | None = None,
    hi: datetime | None = None,
) -> dict[str, int]:
    """Refresh rollups (all by default). Without a window, refresh what changed (postgres) or
    everything invalidated (timescale). Returns, per rollup, the number of windows refreshed
    (postgres) or 1 (timescale). ``conn`` must be in autocommit mode."""
    if not conn.autocommit:
        raise ValueError("refresh needs an autocommit connection (TimescaleDB requires it)")
    profile = storage_profile(conn)
    done: dict[str, int] = {}
    for name in names or rollup_names(conn):
        if profile == "timescale":
            conn.execute(
                "CALL refresh_continuous_aggregate(%s::regclass, %s::timestamptz, %s::timestamptz)",
                [f"wattline.{name}", lo, hi],
            )
            done[name] = 1
        elif lo is None and hi is None:
            done[name] = _scalars(conn, "SELECT wattline_admin.refresh_pending(%s)", [name])[0]
        elif lo is None or hi is None:
            raise ValueError("an explicit refresh window needs both ends")
        else:
            conn.execute("SELECT wattline_admin.refresh_rollup(%s, %s, %s)", [name, lo, hi])
            done[name] = 1
    return done
