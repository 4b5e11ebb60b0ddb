"""The spool against real files and the real PostgreSQL: what was confirmed while the database
was away is stored exactly once, whatever happened to the file or to the replay meanwhile; a
spool that cannot take more (over WATTLINE_SPOOL_MAX_BYTES, or its disk full) stops the writer
confirming, never the writer, and it confirms again once there is room."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from databases import copy_database, database_url, drop_database

from ingest import spool_format
from ingest.spool import Spool, SpoolFull
from ingest.writer import Batch, Writer
from sql import db

T0 = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def away(template_db: str) -> Iterator[tuple[str, callable]]:
    """A database URL that refuses every connection (the database does not exist yet), and a
    function that brings it back."""
    name = f"wattline_test_{uuid.uuid4().hex[:12]}"
    yield database_url(name), lambda: copy_database(name, template_db)
    drop_database(name)


def message(cp: str, minute: int, wh: int) -> Batch:
    """What a MeterValues leaves: a frame and an energy reading."""
    b = Batch()
    b.add("ocpp_messages", (T0 + timedelta(minutes=minute), cp, "in", 2, f"m{minute}",
                            "MeterValues", json.dumps({"wh": wh}), None))  # fmt: skip
    b.add("meter_values", (T0 + timedelta(minutes=minute), T0, cp, 1, None,
                           "Energy.Active.Import.Register", "", "Outlet", "Sample.Periodic", "Wh",
                           Decimal(wh), "ok"))  # fmt: skip
    return b


def rejected(minute: int) -> Batch:
    b = Batch()
    b.reject("mqtt", "meters/M/reading", "bad record", f"raw {minute}", at=T0)
    return b


def poison() -> Batch:
    """Confirmed while the database was away; refused by it on replay (CSQ is 0-31)."""
    b = Batch()
    b.add("meter_health", (T0, T0, uuid.uuid4(), 99, 0, None))
    return b


def stored(url: str) -> dict[str, object]:
    with psycopg.connect(db.with_session_options(url)) as conn:
        one = lambda q: conn.execute(q).fetchall()  # noqa: E731
        return {
            "readings": one("SELECT value::int FROM wattline.meter_values ORDER BY time"),
            "frames": one("SELECT count(*), count(DISTINCT message_id) FROM ocpp_messages"),
            "rejects": one("SELECT source, count(*) FROM ingest_rejects GROUP BY 1 ORDER BY 1"),
        }  # fmt: skip


async def until(check, timeout: float = 15.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def spool_while_away(url: str, spool: Path, batches: list[Batch]) -> None:
    writer = Writer(url, spool_path=spool, retry_interval_s=60)
    await writer.start()
    for b in batches:
        await writer.write(b)  # confirmed although the database is away
    await writer.stop()


def quarantined(spool: Path) -> list[dict]:
    path = spool.with_name(spool.name + ".quarantine")
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


async def test_a_document_refused_on_replay_is_quarantined_and_the_rest_flow(away, tmp_path):
    url, come_back = away
    spool = tmp_path / "spool.jsonl"
    await spool_while_away(
        url, spool, [message("CP-1", 0, 1000), poison(), message("CP-1", 10, 1500)]
    )
    come_back()
    writer = Writer(url, spool_path=spool, retry_interval_s=0.2)
    await writer.start()
    await until(lambda: not spool.exists())
    await writer.write(message("CP-1", 20, 1700))  # live writes flow after
    await writer.stop()
    assert stored(url) == {
        "readings": [(1000,), (1500,), (1700,)],
        "frames": [(3, 3)],
        "rejects": [("spool", 1)],
    }
    (entry,) = quarantined(spool)
    assert "meter_health_csq_check" in entry["reason"] and '"meter_health"' in entry["data"]
    with psycopg.connect(db.with_session_options(url)) as conn:
        (reason,) = conn.execute("SELECT reason FROM wattline.ingest_rejects").fetchone()
    assert "meter_health_csq_check" in reason


def records(spool: Path) -> list[int]:
    """Where each record starts."""
    data = spool.read_bytes()
    return [0] + [i + 1 for i in range(len(data)) if data.startswith(b"\n@wl ", i)]


async def test_a_torn_tail_is_cut_and_a_damaged_middle_record_quarantined(away, tmp_path):
    url, come_back = away
    spool = tmp_path / "spool.jsonl"
    await spool_while_away(url, spool, [message("CP-2", m, 1000 + m) for m in range(4)])
    starts = records(spool)
    data = bytearray(spool.read_bytes())
    data[starts[1] + 40] ^= 0x01  # one flipped bit in the second record
    torn = spool_format.dump(message("CP-2", 9, 9999).to_document())[:-30]
    spool.write_bytes(bytes(data) + torn)  # and a crash in the middle of the fifth
    # Reopening cuts the torn tail, so a later append cannot leave it in the middle.
    assert Spool(spool).size == len(data)
    await spool_while_away(url, spool, [message("CP-2", 5, 1005)])
    come_back()
    writer = Writer(url, spool_path=spool, retry_interval_s=0.2)
    await writer.start()
    await until(lambda: not spool.exists())
    await writer.stop()
    assert stored(url)["readings"] == [(1000,), (1002,), (1003,), (1005,)]
    assert stored(url)["frames"] == [(4, 4)]
    reasons = [(e["offset"], e["reason"].split(" (")[0]) for e in quarantined(spool)]
    assert reasons == [
        (len(data), "torn record at the end of the spool"),
        (starts[1], "damaged record"),
    ]


async def test_a_torn_record_left_in_the_middle_is_skipped(away, tmp_path):
    # A spool written by something that did not cut its torn tail before appending again.
    url, come_back = away
    spool = tmp_path / "spool.jsonl"
    first, second, third = (
        spool_format.dump(message("CP-3", m, 100 * m).to_document()) for m in (1, 2, 3)
    )
    spool.write_bytes(first + second[:50] + third)
    come_back()
    writer = Writer(url, spool_path=spool, retry_interval_s=0.2)
    await writer.start()
    await until(lambda: not spool.exists())
    await writer.stop()
    assert stored(url)["readings"] == [(100,), (300,)]
    assert [(e["offset"], len(e["data"])) for e in quarantined(spool)] == [(len(first), 50)]


async def test_replay_resumes_where_it_stopped_and_stores_each_row_once(away, tmp_path):
    url, come_back = away
    spool = tmp_path / "spool.jsonl"
    batches = [message("CP-4", m, 1000 + m) for m in range(6)] + [rejected(m) for m in range(4)]
    await spool_while_away(url, spool, batches)
    come_back()
    # Two batches a chunk (each weighs 2 rows): the first chunk is committed and recorded...
    first = Writer(url, spool_path=spool, max_rows=4)
    await first.replay.step()
    assert first.replayed == 2
    offset = first.spool.offset
    assert (spool.parent / "spool.jsonl.offset").read_text().split()[0] == str(offset)
    # ...the second committed, and the process dies before recording it.
    chunk = first.spool.read(lambda d: 2, 4)
    await first.attempt([Batch.from_document(d) for d, _ in chunk.documents], careful=True)
    await first.stop()
    assert stored(url)["frames"] == [(4, 4)]
    second = Writer(url, spool_path=spool, max_rows=4, retry_interval_s=0.2)
    assert second.spool.offset == offset  # resumes after the first chunk, not from the start
    await second.start()
    await until(lambda: not spool.exists())
    await second.stop()
    assert second.replayed == 8  # the second chunk again, then the rest
    # Six frames and four rejects, each once, although two frames were replayed twice.
    assert stored(url) == {
        "readings": [(1000 + m,) for m in range(6)],
        "frames": [(6, 6)],
        "rejects": [("mqtt", 4)],
    }


def readings(cp: str, first: int, count: int) -> Batch:
    b = Batch()
    for minute in range(first, first + count):
        b.add("meter_values", (T0 + timedelta(minutes=minute), T0, cp, 1, None,
                               "Energy.Active.Import.Register", "", "Outlet", "Sample.Periodic",
                               "Wh", Decimal(1000 + minute), "ok"))  # fmt: skip
    return b


def minutes_stored(url: str) -> list[int]:
    with psycopg.connect(db.with_session_options(url)) as conn:
        rows = conn.execute("SELECT value::int - 1000 FROM wattline.meter_values ORDER BY time")
        return [r[0] for r in rows]


async def refused_for_room(writer: Writer, batch: Batch) -> str:
    try:
        await writer.write(batch)
    except SpoolFull as exc:
        return str(exc)
    raise AssertionError("confirmed although the spool had no room")


async def test_over_the_cap_writes_are_refused_until_replay_makes_room(away, tmp_path):
    url, come_back = away
    spool = tmp_path / "spool.jsonl"
    record = len(spool_format.dump(readings("CP-1", 0, 1).to_document()))
    writer = Writer(url, spool_path=spool, retry_interval_s=0.2, spool_max_bytes=record * 5 // 2)
    await writer.start()
    await writer.write(readings("CP-1", 0, 1))  # two records fit
    await writer.write(readings("CP-1", 1, 1))
    reason = await refused_for_room(writer, readings("CP-1", 2, 1))
    assert "WATTLINE_SPOOL_MAX_BYTES" in reason and writer.alive
    come_back()
    await until(lambda: not spool.exists())
    await writer.write(readings("CP-1", 2, 1))  # sent again: confirmed now
    await writer.stop()
    assert minutes_stored(url) == [0, 1, 2]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)],
                             capture_output=True, text=True)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"NOT TESTED: ENOSPC needs a small tmpfs (mount as root): {mounted.stderr}")
    yield disk
    subprocess.run(["umount", str(disk)], check=True)


def fill(path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)


async def test_a_full_disk_refuses_writes_and_leaves_no_half_record(away, small_disk):
    url, come_back = away
    spool = small_disk / "spool.jsonl"
    writer = Writer(url, spool_path=spool, retry_interval_s=60)
    await writer.start()
    filler = small_disk / "filler"
    fill(filler)
    os.truncate(filler, filler.stat().st_size - 8192)  # two pages free
    await writer.write(readings("CP-2", 0, 1))  # a small batch fits
    size = spool.stat().st_size
    big = readings("CP-2", 1, 300)  # 17 KB: written in part, then ENOSPC
    assert "No space left on device" in await refused_for_room(writer, big)
    assert writer.alive and spool.stat().st_size == size  # the part written was cut off
    filler.unlink()  # room again
    await writer.write(big)
    await writer.stop()
    come_back()
    writer = Writer(url, spool_path=spool, retry_interval_s=0.2)
    await writer.start()
    await until(lambda: not spool.exists())
    await writer.stop()
    assert minutes_stored(url) == list(range(301))
    assert not spool.with_name("spool.jsonl.quarantine").exists()


async def test_a_spool_of_the_old_one_line_format_is_replayed_after_an_upgrade(away, tmp_path):
    url, come_back = away
    spool = tmp_path / "spool.jsonl"
    lines = [
        json.dumps(spool_format.encode(message("CP-5", m, 500 + m).to_document())) for m in (0, 1)
    ]
    spool.write_text("".join(line + "\n" for line in lines) + lines[0][:20])  # and a torn line
    come_back()
    writer = Writer(url, spool_path=spool, retry_interval_s=0.2)
    await writer.start()
    await until(lambda: not spool.exists())
    await writer.stop()
    assert stored(url)["readings"] == [(500,), (501,)]
    assert stored(url)["frames"] == [(2, 2)]


async def test_replay_that_runs_past_the_statement_timeout_is_tried_again(away, tmp_path):
    url, come_back = away
    spool = tmp_path / "spool.jsonl"
    await spool_while_away(url, spool, [message("CP-6", m, 600 + m) for m in range(4)])
    come_back()
    writer = Writer(url, spool_path=spool, statement_timeout_s=1, retry_interval_s=0.2)
    with psycopg.connect(db.with_session_options(url)) as locker:
        # The replay's slot claims hang on this lock: its chunks time out, more than once.
        locker.execute("LOCK TABLE wattline_admin.writer_slots IN ACCESS EXCLUSIVE MODE")
        await writer.start()
        await until(lambda: writer.replay.budget < writer.max_rows // 2)
        assert spool.exists()
    await until(lambda: not spool.exists())  # the lock is gone: replayed
    await writer.stop()
    assert stored(url) == {
        "readings": [(600,), (601,), (602,), (603,)],
        "frames": [(4, 4)],
        "rejects": [],
    }
