"""The shared batched writer against the real PostgreSQL server."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest
from databases import copy_database, database_url, drop_database

from ingest.writer import Batch, BatchRefused, Writer
from sql import db

T0 = datetime(2024, 1, 27, 9, 45, tzinfo=UTC)
NOW = datetime(2024, 1, 27, 12, 0, tzinfo=UTC)


def _energy_row(cp: str, minute: int, wh: int) -> tuple:
    return (
        T0 + timedelta(minutes=minute),
        NOW,
        cp,
        1,
        None,
        "Energy.Active.Import.Register",
        "",
        "Outlet",
        "Sample.Periodic",
        "Wh",
        Decimal(wh),
        "ok",
    )


def _count(url: str, query: str, params=None):
    with psycopg.connect(db.with_session_options(url)) as conn:
        return conn.execute(query, params).fetchone()


async def test_a_batch_is_stored_with_deltas_and_a_resent_one_counts_once(db_url):
    writer = Writer(db_url)
    await writer.start()
    batch = Batch()
    for minute, wh in [(0, 5123), (30, 9000), (67, 15234)]:
        batch.add("meter_values", _energy_row("CP-9", minute, wh))
    batch.add("ocpp_messages", (NOW, "CP-9", "in", 2, "m1", "MeterValues", '{"a": 1}', None))
    await writer.write(batch)
    resent = Batch(rows={"meter_values": batch.rows["meter_values"]})
    await writer.write(resent)
    await writer.stop()
    # 9000 - 5123 = 3877 Wh, then 15234 - 9000 = 6234 Wh: 10111 Wh in all.
    assert _count(db_url, "SELECT count(*), sum(delta) FROM wattline.meter_values") == (3, 10111)
    assert _count(db_url, "SELECT count(*) FROM wattline.ocpp_messages") == (1,)


async def test_concurrent_writes_share_commits(db_url):
    writer = Writer(db_url)
    await writer.start()
    batches = []
    for i in range(300):
        b = Batch()
        b.add("meter_values", _energy_row(f"CP-{i % 7}", i, 1000 + i))
        batches.append(b)
    await asyncio.gather(*(writer.write(b) for b in batches))
    await writer.stop()
    assert _count(db_url, "SELECT count(*) FROM wattline.meter_values") == (300,)
    assert writer.commits < 300 / 3, writer.commits


async def test_a_bad_batch_is_refused_alone_and_the_others_are_stored(db_url):
    meter = uuid.uuid4()
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO wattline.meter_registry (id, serial) VALUES (%s, 'EML1')", [meter]
        )
    writer = Writer(db_url)
    await writer.start()
    good = [Batch() for _ in range(5)]
    for i, b in enumerate(good):
        b.add("meter_health", (T0 + timedelta(minutes=i), NOW, meter, 20, 3, Decimal(230)))
    bad = Batch()
    bad.add("meter_health", (T0, NOW, meter, 99, 0, Decimal(230)))  # CSQ is 0-31
    results = await asyncio.gather(
        *(writer.write(b) for b in [*good[:2], bad, *good[2:]]), return_exceptions=True
    )
    await writer.stop()
    assert [type(r) for r in results] == [type(None)] * 2 + [BatchRefused] + [type(None)] * 3
    assert "meter_health_csq_check" in str(results[2])
    assert _count(db_url, "SELECT count(*) FROM wattline.meter_health") == (5,)


async def test_batches_written_while_the_database_is_away_are_spooled_and_replayed(
    template_db, tmp_path
):
    # The database does not exist yet: every connection is refused, as when the server is down.
    name = f"wattline_test_{uuid.uuid4().hex[:12]}"
    url = database_url(name)
    spool = tmp_path / "spool.jsonl"
    writer = Writer(url, spool_path=spool, retry_interval_s=0.2)
    await writer.start()
    try:
        for minute, wh in [(0, 1000), (10, 1600), (20, 2500)]:
            b = Batch()
            b.add("meter_values", _energy_row("CP-S", minute, wh))
            await writer.write(b)  # confirmed although the database is away
        assert spool.read_bytes().count(b"\n@wl ") == 2  # three records
        copy_database(name, template_db)  # the database comes back
        for _ in range(100):
            await asyncio.sleep(0.1)
            if not spool.exists():
                break
        assert not spool.exists()
        later = Batch()
        later.add("meter_values", _energy_row("CP-S", 30, 2600))
        await writer.write(later)
        await writer.stop()
        # 600 + 900 + 100 Wh, in event order.
        assert _count(url, "SELECT count(*), sum(delta) FROM wattline.meter_values") == (4, 1600)
    finally:
        drop_database(name)


def test_a_row_of_the_wrong_width_is_refused_at_the_caller():
    with pytest.raises(ValueError, match="meter_health: expected 6 values, got 2"):
        Batch().add("meter_health", (T0, NOW))
