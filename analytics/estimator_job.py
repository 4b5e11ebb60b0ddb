"""The live estimator for a meter with its readings from the database (analytics/estimator.py
does the arithmetic; the dashboard and the API read the same query and call the same function)."""

from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg.rows import dict_row

from analytics.estimator import Estimate, estimate_recent, window
from analytics.settlement import SettlementConfig
from sql import queries


def find_meter(conn: psycopg.Connection, serial: str) -> tuple[str, str]:
    """(meter id, time zone) of the meter with this serial; LookupError if there is none."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(queries.get("meter_by_serial"), {"serial": serial}).fetchone()
    if row is None:
        raise LookupError(f"no meter with serial {serial!r}")
    return row["meter_id"], row["timezone"]


def live_estimate(
    conn: psycopg.Connection, meter_id: str, tz: str, now: datetime, config: SettlementConfig
) -> Estimate | None:
    lo, hi = window(now, tz, config)
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            queries.get("estimator_readings"), {"meter_id": meter_id, "lo": lo, "hi": hi}
        ).fetchall()
    return estimate_recent(rows, now, tz, config)
