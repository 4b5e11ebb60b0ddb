"""The live estimator for a meter with its readings from the database (analytics/estimator.py
does the arithmetic)."""

from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg.rows import dict_row

from analytics.estimator import Estimate, Reading, estimate
from analytics.settlement import SettlementConfig, period_start
from sql import queries


def find_meter(conn: psycopg.Connection, serial: str) -> tuple[str, str]:
    """(meter id, time zone) of the meter with this serial; LookupError if there is none."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(queries.get("meter_by_serial"), {"serial": serial}).fetchone()
    if row is None:
        raise LookupError(f"no meter with serial {serial!r}")
    return row["meter_id"], row["timezone"]


def live_estimate(
    conn: psycopg.Connection, serial: str, now: datetime, config: SettlementConfig
) -> Estimate:
    meter_id, tz = find_meter(conn, serial)
    params = {
        "meter_id": meter_id,
        "now": now,
        "since": period_start(now, tz, config.period_minutes),
    }
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(queries.get("estimator_readings"), params).fetchall()
    return estimate([Reading(**r) for r in rows], now, tz, config)
