"""One batch can fail only itself: values PostgreSQL or psycopg refuse in ways that are not
psycopg errors, a writer task that dies, a database that never answers."""

from __future__ import annotations

import asyncio
import socket
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest
from test_spool import until
from test_writer_direct import batch

from ingest.supervise import EXIT_WRITER_DIED, Watchdog
from ingest.writer import Batch, Writer, WriterFailed
from sql import db, queries

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def energy(cp: str, minute: int, wh: int, connector: int = 1) -> tuple:
    return (T0 + timedelta(minutes=minute), T0, cp, connector, None,
            "Energy.Active.Import.Register", "", "Outlet", "Sample.Periodic", "Wh", Decimal(wh),
            "ok")  # fmt: skip


def frame(cp: str, raw: str) -> tuple:
    return (T0, cp, "in", None, None, None, None, raw)


def rows(url: str, query: str) -> list[tuple]:
    with psycopg.connect(db.with_session_options(url)) as conn:
        return conn.execute(query).fetchall()


async def test_values_psycopg_cannot_send_fail_only_their_own_batch(db_url):
    writer = Writer(db_url)
    await writer.start()
    batches = [
        batch(energy("CP-A", 0, 1000)),
        batch(energy("CP-B", 0, 2000, connector=2**63)),  # OverflowError
        batch(energy("CP-C", 0, 3000)),
        batch(frame("CP-D", "lone \ud800 surrogate"), target="ocpp_messages"),  # UnicodeEncodeError
        batch(energy("CP-E", 0, 5000)),
    ]
    results = await asyncio.gather(*map(writer.write, batches), return_exceptions=True)
    assert [type(r).__name__ for r in results] == [
        "NoneType", "BatchRefused", "NoneType", "BatchRefused", "NoneType"
    ]  # fmt: skip
    assert "out of range" in str(results[1])  # the text COPY's own words
    assert "UnicodeEncodeError" in str(results[3])
    # The writer goes on serving.
    await writer.write(batch(energy("CP-A", 1, 1100)))
    await asyncio.wait_for(writer.stop(), 10)
    assert rows(db_url, "SELECT charge_point_id, value FROM meter_values ORDER BY 1, 2") == [
        ("CP-A", 1000), ("CP-A", 1100), ("CP-C", 3000), ("CP-E", 5000)
    ]  # fmt: skip
    assert rows(db_url, "SELECT count(*) FROM wattline.ocpp_messages") == [(0,)]


async def test_a_resent_frame_is_stored_once(db_url):
    writer = Writer(db_url)
    await writer.start()
    b = batch(frame("CP-F", "x"), target="ocpp_messages")
    await writer.write(b)
    b.unsure = True  # as after a commit whose answer was lost: the same keys go again
    await writer.write(b)
    await writer.stop()
    assert rows(db_url, "SELECT count(*) FROM wattline.ocpp_messages") == [(1,)]


async def test_a_producer_key_makes_a_redelivered_reject_one_row(db_url):
    writer = Writer(db_url)
    await writer.start()
    key = uuid.uuid4()
    for minute in (0, 5):  # a second delivery: same key, a new receive time
        b = Batch()
        b.reject(
            "mqtt",
            "meters/M1/reading",
            "bad",
            "{\x00}",
            replay_key=key,
            at=T0.replace(minute=minute),
        )
        await writer.write(b)
    await writer.stop()
    assert rows(db_url, "SELECT raw, replay_key FROM wattline.ingest_rejects") == [
        ("{\\u0000}", key)
    ]


async def test_a_writer_task_that_dies_stops_the_process_with_an_error(db_url):
    writer = Writer(db_url)
    await writer.start()
    stop = asyncio.Event()
    watchdog = Watchdog(writer, stop, grace_s=30)
    watchdog.start()
    while writer.alive:  # whatever ended it, the task is gone
        writer._task.cancel()
        await asyncio.sleep(0.01)
    await asyncio.wait_for(stop.wait(), 5)
    assert not writer.alive
    try:
        await writer.write(batch(energy("CP-G", 0, 1)))
        raise AssertionError("a write was accepted by a dead writer")
    except WriterFailed:
        pass
    await asyncio.wait_for(writer.stop(), 5)
    assert watchdog.close() == EXIT_WRITER_DIED


async def test_a_database_that_never_answers_turns_into_spooling(tmp_path):
    # Accepts connections and never says a word, like a black-holed server.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    spool = tmp_path / "spool.jsonl"
    writer = Writer(f"postgresql://127.0.0.1:{port}/x", spool_path=spool, statement_timeout_s=1)
    await writer.start()
    try:
        # Bounded by the connect timeout (5 s), never a hang.
        await asyncio.wait_for(writer.write(batch(energy("CP-H", 0, 1))), 30)
        await asyncio.wait_for(writer.write(batch(energy("CP-H", 1, 2))), 30)
        assert writer.database_away and writer.spool.backlog_bytes > 0
        assert spool.read_bytes().count(b"\n@wl ") == 1  # two records
    finally:
        await asyncio.wait_for(writer.stop(), 30)
        listener.close()


@pytest.mark.timescale
def test_replay_keys_hold_on_timescale_hypertables(timescale_url):
    # The writer's COPY does not run on the PGlite test server: its merges, row by row.
    frame_key, reject_key = uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(db.with_session_options(timescale_url)) as conn:
        conn.execute(queries.get("create_replay_staging"))
        for minute in (0, 1):  # a replay: the frame as it was, the reject at a new time
            conn.execute(
                "INSERT INTO pg_temp.stage_ocpp_messages (time, charge_point_id, direction, raw,"
                " replay_key) VALUES (%s, 'CP-T', 'in', 'x', %s)",
                [T0, frame_key],
            )
            conn.execute(
                "INSERT INTO pg_temp.stage_ingest_rejects (time, source, reason, raw, replay_key)"
                " VALUES (%s, 'mqtt', 'bad', 'raw', %s)",
                [T0 + timedelta(minutes=minute), reject_key],
            )
            conn.execute(queries.get("merge_ocpp_messages"))
            conn.execute(queries.get("merge_ingest_rejects"))
            conn.commit()
        for table in ("ocpp_messages", "ingest_rejects"):
            assert conn.execute(f"SELECT count(*) FROM wattline.{table}").fetchall() == [(1,)]


async def test_a_statement_past_its_timeout_turns_into_spooling(db_url, tmp_path):
    spool = tmp_path / "spool.jsonl"
    writer = Writer(db_url, spool_path=spool, statement_timeout_s=1, retry_interval_s=0.2)
    await writer.start()
    await writer.write(batch(energy("CP-L", 0, 1000)))  # connected, caches warm
    with psycopg.connect(db.with_session_options(db_url)) as locker:
        # Every register write claims its slots first: they hang on this lock.
        locker.execute("LOCK TABLE wattline_admin.writer_slots IN ACCESS EXCLUSIVE MODE")
        await asyncio.wait_for(writer.write(batch(energy("CP-L", 1, 1100))), 30)
        assert writer.database_away and spool.exists()  # confirmed from the spool
    await until(lambda: not spool.exists())
    await writer.write(batch(energy("CP-L", 2, 1300)))
    await writer.stop()
    assert rows(db_url, "SELECT value, delta FROM meter_values ORDER BY time") == [
        (1000, 0), (1100, 100), (1300, 200)
    ]  # fmt: skip
