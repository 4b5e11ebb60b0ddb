"""The writer's direct path (ingest/series_cache.py, migration 0011): register rows COPYed
straight into their tables with deltas the writer computed from the series' last reading (from
memory, or read from the table when memory cannot vouch for it), and every way that memory can
go stale, each checked against deltas worked out by hand."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg

from ingest.writer import Batch, BatchRefused, Writer
from sql import db

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def energy(cp: str, minute: int, wh: int, measurand: str = "Energy.Active.Import.Register"):
    unit = "Wh" if measurand.endswith("Register") else "W"
    return (T0 + timedelta(minutes=minute), NOW, cp, 1, None, measurand, "", "Outlet",
            "Sample.Periodic", unit, Decimal(wh), "ok")  # fmt: skip


def batch(*rows, target: str = "meter_values") -> Batch:
    b = Batch()
    for r in rows:
        b.add(target, r)
    return b


def stored(url: str, cp: str) -> list[tuple]:
    with psycopg.connect(db.with_session_options(url)) as conn:
        return conn.execute(
            "SELECT extract(epoch FROM time - %s)::int / 60, value, delta, quality"
            "  FROM wattline.meter_values WHERE charge_point_id = %s"
            "   AND measurand = 'Energy.Active.Import.Register' ORDER BY time",
            [T0, cp],
        ).fetchall()


async def started(url: str) -> Writer:
    w = Writer(url)
    await w.start()
    return w


async def test_a_known_series_goes_direct_with_the_same_deltas_as_the_merge(db_url):
    w = await started(db_url)
    await w.write(batch(energy("CP-1", 0, 1000), energy("CP-1", 0, 7000, "Power.Active.Import")))
    # First sight of both series: their last readings (none) are read from the table.
    assert (w.rows_direct, w.rows_merged, w.series_read) == (2, 0, 2)
    await w.write(batch(energy("CP-1", 1, 1120), energy("CP-1", 1, 7200, "Power.Active.Import")))
    await w.write(batch(energy("CP-1", 2, 1300)))
    await w.stop()
    assert (w.rows_direct, w.rows_merged, w.series_read) == (5, 0, 2)  # then from memory
    assert stored(db_url, "CP-1") == [
        (0, 1000, 0, "ok"), (1, 1120, 120, "ok"), (2, 1300, 180, "ok")
    ]  # fmt: skip


async def test_a_register_that_goes_down_is_a_reset_on_the_direct_path(db_url):
    w = await started(db_url)
    for minute, wh in [(0, 5000), (1, 5100), (2, 40), (3, 90)]:
        await w.write(batch(energy("CP-R", minute, wh)))
    await w.stop()
    assert w.rows_direct == 4
    assert stored(db_url, "CP-R") == [
        (0, 5000, 0, "ok"), (1, 5100, 100, "ok"), (2, 40, 0, "reset"), (3, 90, 50, "ok")
    ]  # fmt: skip


async def test_late_and_resent_readings_take_the_merge_and_fix_the_next_delta(db_url):
    w = await started(db_url)
    for minute, wh in [(0, 1000), (10, 2000), (20, 3000)]:
        await w.write(batch(energy("CP-L", minute, wh)))
    await w.write(batch(energy("CP-L", 15, 2600), energy("CP-L", 20, 3000)))  # late + re-sent
    await w.write(batch(energy("CP-L", 30, 3100)))
    await w.stop()
    assert stored(db_url, "CP-L") == [
        (0, 1000, 0, "ok"), (10, 2000, 1000, "ok"), (15, 2600, 600, "ok"),
        (20, 3000, 400, "ok"), (30, 3100, 100, "ok"),
    ]  # fmt: skip
    assert (w.rows_direct, w.rows_merged) == (4, 2)  # the late and the re-sent one merged


async def test_another_writer_in_between_is_noticed(db_url):
    a, b = await started(db_url), await started(db_url)
    await a.write(batch(energy("CP-2", 0, 1000)))
    await a.write(batch(energy("CP-2", 1, 1100)))
    await b.write(batch(energy("CP-2", 2, 1500)))  # a's memory of CP-2 is now stale
    await a.write(batch(energy("CP-2", 3, 1600)))
    await a.stop()
    await b.stop()
    assert stored(db_url, "CP-2") == [
        (0, 1000, 0, "ok"), (1, 1100, 100, "ok"), (2, 1500, 400, "ok"), (3, 1600, 100, "ok")
    ]  # fmt: skip
    # a read CP-2's last reading at first sight and again after b wrote; nothing was merged.
    assert (a.series_read, a.rows_merged) == (2, 0)


async def test_a_write_by_anything_but_a_writer_is_noticed(db_url):
    w = await started(db_url)
    await w.write(batch(energy("CP-3", 0, 1000)))
    await w.write(batch(energy("CP-3", 1, 1100)))
    with psycopg.connect(db.with_session_options(db_url), autocommit=True) as conn:
        # A manual correction: the reading at minute 2 typed in by hand.
        conn.execute(
            "INSERT INTO wattline.meter_values (time, charge_point_id, connector_id, unit,"
            " value, delta) VALUES (%s, 'CP-3', 1, 'Wh', 1450, 350)",
            [T0 + timedelta(minutes=2)],
        )
    await w.write(batch(energy("CP-3", 3, 1500)))
    await w.stop()
    assert [r[2] for r in stored(db_url, "CP-3")] == [0, 100, 350, 50]


async def test_a_refused_batch_leaves_the_memory_as_committed(db_url):
    meter, register = uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(db.with_session_options(db_url), autocommit=True) as conn:
        conn.execute("INSERT INTO wattline.meter_registry (id, serial) VALUES (%s, 'M1')", [meter])

    def reading(minute: int, imp: str, exp: str) -> tuple:
        return (T0 + timedelta(minutes=minute), NOW, register, meter, "SINGLE", Decimal(imp),
                Decimal(exp), None, None, "ok")  # fmt: skip

    w = await started(db_url)
    await w.write(batch(reading(0, "100.5", "10"), target="register_readings"))
    await w.write(batch(reading(1, "101.5", "12"), target="register_readings"))
    bad = batch(reading(2, "102", "13"), reading(3, "-1", "14"), target="register_readings")
    try:
        await w.write(bad)  # import_wh may not be negative: the whole batch is refused
        raise AssertionError("a negative register was stored")
    except BatchRefused as exc:
        assert "import_wh_check" in str(exc)
    await w.write(batch(reading(4, "104", "20"), target="register_readings"))
    await w.stop()
    with psycopg.connect(db.with_session_options(db_url)) as conn:
        rows = conn.execute(
            "SELECT extract(epoch FROM time - %s)::int / 60, delta_import_wh, delta_export_wh"
            "  FROM wattline.register_readings ORDER BY time",
            [T0],
        ).fetchall()
    # Minute 4 follows minute 1: 104 - 101.5 and 20 - 12.
    assert rows == [(0, 0, 0), (1, 1, 2), (4, Decimal("2.5"), 8)]
    assert w.rows_direct == 3
