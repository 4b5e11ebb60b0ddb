"""Delivery: duplicates count once, nothing is lost while the ingest is stopped, and a shared
subscription splits the load between ingest processes."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
from databases import copy_database, database_url, drop_database
from mqtt_support import eventually, running

from sql import db

T0 = datetime(2024, 1, 27, 9, 0, tzinfo=UTC)


def reading(minute: int, wh: int) -> dict:
    return {"ts": (T0 + timedelta(minutes=minute)).isoformat(), "import_wh": wh}


async def test_a_duplicate_or_a_resent_batch_counts_once(ingest, publisher, serial, query):
    batch = [reading(0, 1000), reading(10, 1500), reading(20, 1700)]
    publisher.send(serial, "reading", batch)
    publisher.send(serial, "reading", batch[1])  # a QoS-1 redelivery of one record
    publisher.send(serial, "reading", batch)  # the whole batch again
    publisher.send(serial, "balance", {"ts": T0.isoformat(), "balance": 12.5})
    publisher.send(serial, "balance", {"ts": T0.isoformat(), "balance": 12.5})
    publisher.send(serial, "event", {"ts": T0.isoformat(), "type": "marker"})
    await eventually(lambda: query("SELECT count(*) FROM meter_event_log") == [(1,)])
    assert query("SELECT count(*), sum(delta_import_wh) FROM register_readings") == [(3, 700)]
    assert query("SELECT count(*) FROM meter_prepay_balance") == [(1,)]
    assert query("SELECT count(*) FROM meter_registry") == [(1,)]


async def test_messages_published_while_the_ingest_is_stopped_are_stored_after_a_restart(
    mqtt_config, db_url, publisher, serial, query
):
    async with running(mqtt_config, db_url) as first:
        publisher.send(serial, "reading", reading(0, 1000))
        await eventually(lambda: first.stored == 1)
    # Stopped: the broker keeps our session and queues these 31 messages for us.
    for minute in range(1, 31):
        publisher.send(serial, "reading", reading(minute, 1000 + 10 * minute))
    publisher.send(serial, "balance", {"ts": T0.isoformat(), "balance": 3.5})
    async with running(mqtt_config, db_url) as second:
        # Every queued message reaches the restarted ingest once, the acknowledged one not again.
        await eventually(lambda: second.stored == 31)
        await asyncio.sleep(0.3)
        assert second.stored == 31
    # 31 readings, 1000 Wh then 10 Wh more each minute: deltas 0 + 30 x 10 = 300 Wh.
    summary = "SELECT count(*), sum(delta_import_wh) FROM register_readings"
    assert query(summary) == [(31, 300)]
    assert query("SELECT balance FROM meter_shadows") == [(3.5,)]


async def test_a_shared_subscription_splits_messages_between_ingest_processes(
    mqtt_config, db_url, publisher, serial, query
):
    group = dataclasses.replace(mqtt_config, shared_group=f"g-{mqtt_config.client_id}")
    first = dataclasses.replace(group, client_id=group.client_id + "-1")
    second = dataclasses.replace(group, client_id=group.client_id + "-2")
    async with running(first, db_url) as a, running(second, db_url) as b:
        for minute in range(40):
            publisher.send(serial, "reading", reading(minute, 1000 + minute))
        summary = "SELECT count(*), sum(delta_import_wh) FROM register_readings"
        await eventually(lambda: query(summary) == [(40, 39)])
        # Rows are visible once committed; the acknowledgement (and the count) comes just after.
        await eventually(lambda: a.stored + b.stored == 40)
        assert a.stored > 0 and b.stored > 0, (a.stored, b.stored)


async def test_messages_wait_unacknowledged_while_the_database_is_away(
    mqtt_config, template_db, publisher, serial
):
    # The database does not exist yet: every connection is refused, as when the server is down.
    name = f"wattline_test_{uuid.uuid4().hex[:12]}"
    url = database_url(name)
    try:
        async with running(mqtt_config, url) as first:
            for minute in range(3):
                publisher.send(serial, "reading", reading(minute, 1000 + 100 * minute))
            # All three reached this ingest, which cannot store them: it holds them unacknowledged.
            await eventually(lambda: first._pending == 3)
        assert first.stored == 0
        copy_database(name, template_db)  # the database comes back
        # The same session: the broker delivers again what the first never acknowledged.
        async with running(mqtt_config, url) as second:
            await eventually(lambda: second.stored == 3)
        with psycopg.connect(db.with_session_options(url)) as conn:
            summary = "SELECT count(*), sum(delta_import_wh) FROM register_readings"
            assert conn.execute(summary).fetchall() == [(3, 200)]
    finally:
        drop_database(name)
