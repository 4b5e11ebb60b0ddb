"""Completeness per device and UTC day: samples received against samples expected at the
configured interval (WATTLINE_EXPECTED_INTERVAL_S, default 60). Days of the window a device
sent nothing on are reported too, with 0 received: a silent day is what this report is for.
But only from the device's first-seen time on: before it existed nothing was expected (a
charger installed on day 3 of a week has no gaps on days 1 and 2, and its day 3 counts from
the hour it was first seen)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import polars as pl
import psycopg
from psycopg.rows import dict_row

from sql import queries

DEFAULT_INTERVAL_S = 60
COUNT_SCHEMA = {
    "device_kind": pl.String,
    "device": pl.String,
    "day": pl.Datetime("us", "UTC"),
    "received": pl.Int64,
    "first_seen": pl.Datetime("us", "UTC"),
}


def expected_interval_s(env: Mapping[str, str] | None = None) -> int:
    raw = (os.environ if env is None else env).get("WATTLINE_EXPECTED_INTERVAL_S", "")
    if not raw:
        return DEFAULT_INTERVAL_S
    if not raw.isdigit() or int(raw) == 0:
        raise ValueError(f"WATTLINE_EXPECTED_INTERVAL_S={raw!r}: a whole number of seconds > 0")
    return int(raw)


def _days(lo: datetime, hi: datetime) -> list[tuple[datetime, int]]:
    """Each UTC day touching [lo, hi) with the seconds of it inside the window."""
    day = lo.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    out = []
    while day < hi:
        inside = min(day + timedelta(days=1), hi) - max(day, lo)
        out.append((day, int(inside.total_seconds())))
        day += timedelta(days=1)
    return out


def completeness(
    counts: pl.DataFrame, lo: datetime, hi: datetime, interval_s: int = DEFAULT_INTERVAL_S
) -> pl.DataFrame:
    """counts (device_kind, device, day, received, first_seen) → one row per device and day of
    [lo, hi) from the device's first-seen day on, with first_seen, expected, received, missing
    and completeness_pct (1 decimal). A device with no first_seen is taken to be older than the
    window."""
    days = pl.DataFrame(
        _days(lo, hi), schema={"day": pl.Datetime("us", "UTC"), "seconds": pl.Int64}, orient="row"
    )
    devices = counts.group_by("device_kind", "device").agg(pl.col("first_seen").min())
    start = pl.max_horizontal(pl.col("day"), pl.col("first_seen").fill_null(pl.col("day")))
    # Seconds of the day inside both the window and the device's life: the window's share of
    # the day (seconds, from _days) less the part before the device was first seen.
    window_lo = pl.lit(lo.astimezone(UTC), dtype=pl.Datetime("us", "UTC"))
    before = (start - pl.max_horizontal(pl.col("day"), window_lo)).dt.total_seconds()
    grid = (
        devices.join(days, how="cross")
        .filter(pl.col("day") + timedelta(days=1) > pl.col("first_seen").fill_null(pl.col("day")))
        .with_columns(seconds=(pl.col("seconds") - before.clip(lower_bound=0)))
    )
    report = grid.join(
        counts.select("device_kind", "device", "day", "received"),
        on=["device_kind", "device", "day"],
        how="left",
    ).with_columns(
        # Rounded up: a device first seen at t sends at t, t + interval, ... before the day's
        # end, so 59 min 9 s at 60 s holds 60 samples, not 59.
        expected=(pl.col("seconds") + interval_s - 1) // interval_s,
        received=pl.col("received").fill_null(0),
    )
    return report.select(
        "device_kind",
        "device",
        "day",
        "first_seen",
        "expected",
        "received",
        missing=(pl.col("expected") - pl.col("received")).clip(lower_bound=0),
        # None, not infinity, for a device first seen in the window's last interval
        completeness_pct=pl.when(pl.col("expected") > 0).then(
            (pl.col("received") / pl.col("expected") * 100).round(1)
        ),
    ).sort("device_kind", "device", "day")


def completeness_report(
    conn: psycopg.Connection, lo: datetime, hi: datetime, interval_s: int = DEFAULT_INTERVAL_S
) -> pl.DataFrame:
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(queries.get("completeness_counts"), {"lo": lo, "hi": hi}).fetchall()
    return completeness(pl.DataFrame(rows, schema=COUNT_SCHEMA, orient="row"), lo, hi, interval_s)
