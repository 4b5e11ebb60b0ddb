"""Fills ``settlement_periods`` from register readings: for a window (manual trigger, one meter
or all) or incrementally from what arrived since the last pass. Idempotent: a period is
recomputed from all of its readings and upserted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import psycopg
from psycopg.rows import dict_row

from analytics.frame import copied
from analytics.settlement import SettlementConfig, period_start, settle
from sql import queries

READINGS_SCHEMA = {
    "meter_id": pl.String,
    "timezone": pl.String,
    "time": pl.Datetime("us", "UTC"),
    "delta_import_wh": pl.Float64,
    "delta_export_wh": pl.Float64,
}


def settle_window(
    conn: psycopg.Connection,
    lo: datetime,
    hi: datetime,
    config: SettlementConfig,
    meter_id: str | None = None,
) -> int:
    """Recompute every period that overlaps [lo, hi); returns periods written."""
    minutes = config.period_minutes
    # Widen to whole periods in any time zone: a day either side covers every offset.
    readings = copied(
        conn,
        "settlement_readings",
        {"lo": lo - timedelta(days=1), "hi": hi + timedelta(days=1), "meter_id": meter_id},
        READINGS_SCHEMA,
    )
    if readings.is_empty():
        return 0
    periods = [
        settle(group.drop("timezone"), tz, config).filter(
            (pl.col("period_end") > period_start(lo, tz, minutes)) & (pl.col("period_start") < hi)
        )
        for (tz,), group in readings.group_by("timezone")
    ]
    with conn.transaction(), conn.cursor() as cur:
        # One COPY and one upsert instead of a statement per period.
        cur.execute(queries.get("create_settlement_stage"))
        with cur.copy(queries.get("copy_settlement_stage")) as copy:
            for part in periods:
                copy.write(part.write_csv(include_header=False))
        cur.execute(queries.get("merge_settlement_stage"))
    return sum(part.height for part in periods)


def settle_new(
    conn: psycopg.Connection, since: datetime, now: datetime, config: SettlementConfig
) -> tuple[int, datetime]:
    """Recompute periods touched by readings received after ``since``; returns periods written
    and the new watermark."""
    with conn.cursor(row_factory=dict_row) as cur:
        changed = cur.execute(queries.get("settlement_changed_since"), {"since": since}).fetchall()
    written = 0
    watermark = since
    for row in changed:
        # Up to the latest reading even if it is ahead of our clock (meters' clocks drift).
        hi = max(now, row["last_time"]) + timedelta(minutes=config.period_minutes)
        written += settle_window(conn, row["first_time"], hi, config, row["meter_id"])
        watermark = max(watermark, row["last_received"])
    return written, watermark


# received_at is the inserting transaction's start time, so rows of a transaction that was still
# open at the last pass can carry an older received_at than the watermark. Looking back this far
# catches them; recomputing a period twice is harmless.
COMMIT_LAG = timedelta(minutes=5)
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def settle_pass(conn: psycopg.Connection, config: SettlementConfig) -> int:
    """One incremental pass with a persistent watermark; returns periods written."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(queries.get("job_watermark"), {"job": "settlement"}).fetchone()
    since = row["upto"] - COMMIT_LAG if row else EPOCH
    written, upto = settle_new(conn, since, datetime.now(UTC), config)
    if row is None or upto > row["upto"]:
        conn.execute(queries.get("set_job_watermark"), {"job": "settlement", "upto": upto})
    return written
