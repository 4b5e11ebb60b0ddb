"""How far rollups trail their sources, for /metrics of `wattline jobs` (read after each pass):
TimescaleDB's job stats in the timescale profile, the invalidation log in the postgres one."""

from __future__ import annotations

import psycopg
from psycopg.rows import dict_row

from sql import queries, rollups
from wattline.observe import metrics


def update(conn: psycopg.Connection) -> dict[str, float]:
    """Set wattline_rollup_refresh_lag_seconds (and, postgres, the pending invalidations) per
    rollup; returns the lags."""
    profile = rollups.storage_profile(conn)
    with conn.cursor(row_factory=dict_row) as cur:
        found = cur.execute(queries.get(f"rollup_lag_{profile}"), {}).fetchall()
    for row in found:
        metrics.ROLLUP_LAG.labels(row["rollup"]).set(row["lag_s"])
        if row["pending"] is not None:
            metrics.ROLLUP_PENDING.labels(row["rollup"]).set(row["pending"])
    return {row["rollup"]: row["lag_s"] for row in found}
