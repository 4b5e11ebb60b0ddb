"""Readings that arrive late or old, in both profiles: a late reading into a chunk TimescaleDB
has compressed, frames past the retention window, and the writer's memory of a series whose
last reading was dropped with old chunks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
from timescale_jobs import job_id, run_job

from ingest.writer import Batch, Writer
from sql import db, rollups

# 08:00 UTC ten days ago: past meter_values' 7-day compression.
OLD = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0) - timedelta(days=10)
MEASURAND = "Energy.Active.Import.Register"


def _energy(cp: str, at: datetime, wh: int) -> Batch:
    b = Batch()
    b.add("meter_values", (at, datetime.now(UTC), cp, 1, None, MEASURAND, "", "Outlet",
                           "Sample.Periodic", "Wh", Decimal(wh), "ok"))  # fmt: skip
    return b


def _stored(conn: psycopg.Connection, cp: str) -> list[tuple]:
    return conn.execute(
        "SELECT extract(epoch FROM time - %s)::int / 60, value, delta FROM meter_values"
        " WHERE charge_point_id = %s ORDER BY time",
        [OLD, cp],
    ).fetchall()


async def test_a_late_reading_into_a_compressed_chunk_counts_once_and_rolls_up_right(
    db_url, tuple_conn, storage_profile
):
    w = Writer(db_url)
    await w.start()
    for minute, wh in [(0, 1000), (10, 1600), (20, 2500), (30, 2600)]:
        await w.write(_energy("CP-LATE", OLD + timedelta(minutes=minute), wh))
    if storage_profile == "timescale":
        run_job(tuple_conn, job_id(tuple_conn, "policy_compression", "meter_values"))
        compressed = tuple_conn.execute(
            "SELECT is_compressed FROM timescaledb_information.chunks"
            " WHERE hypertable_name = 'meter_values' AND %s >= range_start AND %s < range_end",
            [OLD, OLD],
        ).fetchone()
        assert compressed == (True,)
    late = _energy("CP-LATE", OLD + timedelta(minutes=15), 2000)
    await w.write(late)
    await w.write(late)  # re-sent
    await w.stop()
    # 2000 lands between 1600 and 2500: its delta is 400 and the next one's becomes 500.
    assert _stored(tuple_conn, "CP-LATE") == [
        (0, 1000, 0), (10, 1600, 600), (15, 2000, 400), (20, 2500, 500), (30, 2600, 100)
    ]  # fmt: skip
    rollups.refresh(tuple_conn)
    for rollup in ("connector_energy_hourly", "connector_energy_daily"):
        row = tuple_conn.execute(
            f"SELECT energy_wh, register_wh, readings FROM {rollup}"
            " WHERE charge_point_id = 'CP-LATE'"
        ).fetchall()
        assert row == [(1600, 2600, 5)], rollup  # 2600 - 1000, five readings, last 2600


def _run_retention(conn: psycopg.Connection, storage_profile: str) -> None:
    if storage_profile == "timescale":
        run_job(conn, job_id(conn, "policy_retention", "ocpp_messages"))
    else:
        conn.execute("SELECT wattline_admin.apply_retention()")


def test_frames_older_than_the_retention_window_are_stored_then_dropped_by_the_next_pass(
    tuple_conn, storage_profile
):
    for age_days in (45, 31, 29):
        tuple_conn.execute(
            "INSERT INTO ocpp_messages (time, charge_point_id, direction, message_type)"
            " VALUES (now() - make_interval(days => %s), 'CP-OLD', 'in', 2)",
            [age_days],
        )
    assert tuple_conn.execute("SELECT count(*) FROM ocpp_messages").fetchone() == (3,)
    _run_retention(tuple_conn, storage_profile)
    ages = tuple_conn.execute(
        "SELECT extract(day FROM now() - time)::int FROM ocpp_messages"
    ).fetchall()
    assert ages == [(29,)]  # 30 days are kept


def _drop_old_rows(conn: psycopg.Connection, storage_profile: str) -> None:
    if storage_profile == "timescale":
        dropped = conn.execute(
            "SELECT wattline_admin.drop_chunks('wattline.meter_values', INTERVAL '5 days')"
        ).fetchall()
        assert len(dropped) == 1
    else:
        conn.execute("DELETE FROM meter_values WHERE time < now() - INTERVAL '5 days'")


async def test_a_writer_whose_last_reading_was_dropped_computes_the_next_delta_from_the_table(
    db_url, tuple_conn, storage_profile
):
    # drop_chunks fires no DML trigger, so nothing would tell the writer that the reading it
    # remembers is gone; wattline_admin.drop_chunks bumps the writer slots, as a DELETE does.
    w = Writer(db_url)
    await w.start()
    await w.write(_energy("CP-GONE", OLD, 1000))
    _drop_old_rows(tuple_conn, storage_profile)
    recent = datetime.now(UTC) - timedelta(hours=1)
    await w.write(_energy("CP-GONE", recent, 1500))
    await w.stop()
    # The series' only stored reading is its first: delta 0, as a writer that never saw the
    # dropped reading would store it, and as the rollups' last - first says.
    rows = tuple_conn.execute(
        "SELECT value, delta FROM meter_values WHERE charge_point_id = 'CP-GONE'"
    ).fetchall()
    assert rows == [(1500, 0)]
    assert w.series_read == 2  # read at first sight, and again after the drop
    with psycopg.connect(db.with_session_options(db_url)) as conn:
        slots = conn.execute(
            "SELECT count(*) FROM wattline_admin.writer_slots"
            " WHERE target = 'meter_values' AND writer IS NULL AND version > 0"
        ).fetchone()
    assert slots == (63,)  # every slot but the writer's own, which it has claimed again since
