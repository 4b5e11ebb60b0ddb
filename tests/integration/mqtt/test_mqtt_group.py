"""A group of messages from several meters: one mark_meters_seen, shadows as if one by one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg

from ingest.mqtt import shadows
from ingest.mqtt.group import Group
from ingest.mqtt.handler import Message
from ingest.mqtt.payloads import Balance, Reading
from ingest.writer import Batch, Writer
from sql import db

T0 = datetime(2024, 1, 27, 9, 0, tzinfo=UTC)


def _meters(db_url: str, n: int) -> list[uuid.UUID]:
    with psycopg.connect(db.with_session_options(db_url), autocommit=True) as conn:
        return [
            conn.execute(
                "INSERT INTO wattline.meter_registry (serial, name) VALUES (%s, %s) RETURNING id",
                (f"M{i}", f"M{i}"),
            ).fetchone()[0]
            for i in range(n)
        ]


def _message(n: int) -> Message:
    return Message(f"meters/M{n}/reading", b"{}", n, 1)


def _shadow_batch(meter: uuid.UUID, seen_min: int, records) -> Batch:
    batch = Batch()
    shadows.add_updates(batch, meter, records, T0 + timedelta(minutes=seen_min))
    return batch


async def test_a_group_marks_each_meter_seen_once_at_its_latest_time(db_url):
    a, b, c = _meters(db_url, 3)
    reading = Reading(T0, "SINGLE", Decimal(1), Decimal(0), None, None)
    group = Group()
    # Meter a is heard at minutes 5 then 2 (out of order), b at 7, c at 1 with a balance.
    group.add(_message(1), _shadow_batch(a, 5, [reading]))
    group.add(_message(2), _shadow_batch(b, 7, [reading]))
    group.add(_message(3), _shadow_batch(a, 2, [reading]))
    balance = Balance(T0, Decimal("12.50"), None)
    group.add(_message(4), _shadow_batch(c, 1, [balance]))

    queries = [q for q, _ in group.batch.statements]
    # One upsert for three meters, the group's promote, c's balance (its own promote dropped).
    assert queries == ["mark_meters_seen", "promote_due_tariffs", "apply_balance"]

    writer = Writer(db_url)
    await writer.start()
    await writer.write(group.batch)
    await writer.stop()
    with psycopg.connect(db.with_session_options(db_url)) as conn:
        rows = conn.execute(
            "SELECT id, last_seen_at, balance FROM wattline.meter_shadows"
        ).fetchall()
    assert sorted(rows) == sorted(
        [
            (a, T0 + timedelta(minutes=5), None),
            (b, T0 + timedelta(minutes=7), None),
            (c, T0 + timedelta(minutes=1), Decimal("12.50")),
        ]
    )


async def test_an_older_receive_time_never_moves_last_seen_back(db_url):
    (meter,) = _meters(db_url, 1)
    reading = Reading(T0, "SINGLE", Decimal(1), Decimal(0), None, None)
    writer = Writer(db_url)
    await writer.start()
    for seen_min in (30, 10):  # two groups, the second with an older receive time
        group = Group()
        group.add(_message(seen_min), _shadow_batch(meter, seen_min, [reading]))
        await writer.write(group.batch)
    await writer.stop()
    with psycopg.connect(db.with_session_options(db_url)) as conn:
        (seen,) = conn.execute("SELECT last_seen_at FROM wattline.meter_shadows").fetchone()
    assert seen == T0 + timedelta(minutes=30)
