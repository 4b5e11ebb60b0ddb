"""Through the real central system: a message the database refuses costs only its own answer,
a full spool is answered as such until there is room, and a dead writer ends the process."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace

from databases import copy_database, database_url, drop_database
from ocpp_support import (
    TEST_CONFIG,
    eventually,
    exchange,
    execute,
    query,
    raw_socket,
    running,
    seen_then_database_gone,
)

from ingest.ocpp.server import CentralSystem
from ingest.supervise import EXIT_WRITER_DIED

T0 = "2024-08-01T10:00:00Z"


def meter_values(message_id: str, count: int) -> list:
    samples = [
        {"timestamp": f"2024-08-01T10:{m:02d}:00Z", "sampledValue": [{"value": str(1000 + m)}]}
        for m in range(count)
    ]
    return [2, message_id, "MeterValues", {"connectorId": 1, "meterValue": samples}]


async def test_a_value_the_database_cannot_hold_fails_only_its_message(central, db_url):
    # What the edge knows the database refuses (NUL, lone surrogates, ...) never gets this far,
    # so the database is given a refusal of its own.
    execute(
        db_url,
        "ALTER TABLE wattline.status_notifications"
        " ADD CONSTRAINT refuses CHECK (info IS DISTINCT FROM 'refused here')",
    )
    status = {
        "connectorId": 1,
        "errorCode": "NoError",
        "status": "Available",
        "info": "refused here",
    }
    async with raw_socket(central, "CP-BAD") as bad, raw_socket(central, "CP-GOOD") as good:
        answers = await asyncio.gather(
            exchange(bad, [2, "s1", "StatusNotification", status]),
            exchange(good, meter_values("g1", 3)),
        )
        assert answers[0][:2] == [4, "s1"]  # a CALLERROR for the bad one
        assert answers[1] == [3, "g1", {}]
        assert (await exchange(bad, [2, "hb", "Heartbeat", {}]))[:2] == [3, "hb"]
    assert [r["value"] for r in query(db_url, "SELECT value FROM wattline.meter_values")] == [
        1000, 1001, 1002
    ]  # fmt: skip
    (reject,) = query(db_url, "SELECT key, raw FROM wattline.ingest_rejects")
    assert reject["key"] == "CP-BAD/StatusNotification" and "refused here" in reject["raw"]
    # The refused CALL is in the frame log too.
    kept = query(db_url, "SELECT payload FROM wattline.ocpp_messages WHERE message_id = 's1'")
    assert {"info": "refused here"}.items() <= kept[0]["payload"].items()


async def test_a_full_spool_is_answered_as_such_and_confirms_again_later(
    template_db, tmp_path, monkeypatch
):
    monkeypatch.setenv("WATTLINE_SPOOL_MAX_BYTES", "5000")
    name = f"wattline_test_{uuid.uuid4().hex[:12]}"
    url = database_url(name)
    spool = tmp_path / "spool.jsonl"
    copy_database(name, template_db)
    try:
        async with running(replace(TEST_CONFIG, spool_path=spool), url) as central:
            await seen_then_database_gone(central, name, "CP-FULL")  # the database is away
            async with raw_socket(central, "CP-FULL") as ws:
                assert (await exchange(ws, meter_values("m1", 2)))[:2] == [3, "m1"]
                answer = await exchange(ws, meter_values("m2", 40))  # ~7 KB: over the cap
                assert answer[:3] == [4, "m2", "InternalError"] and "storage is full" in answer[3]
                assert central.writer.alive
                copy_database(name, template_db)  # the database comes back; replay makes room
                await eventually(lambda: not spool.exists(), timeout=10)
                assert (await exchange(ws, meter_values("m2", 40)))[:2] == [3, "m2"]
        values = query(url, "SELECT value FROM wattline.meter_values ORDER BY time")
        assert [v["value"] for v in values] == [1000 + m for m in range(40)]
    finally:
        drop_database(name)


async def test_the_central_system_exits_with_an_error_when_its_writer_dies(db_url, tmp_path):
    system = CentralSystem(replace(TEST_CONFIG, spool_path=tmp_path / "spool.jsonl"), db_url)
    serving = asyncio.create_task(system.serve_forever())
    await eventually(lambda: system.writer.alive and system._server is not None)
    async with raw_socket(system, "CP-W") as ws:
        assert (await exchange(ws, [2, "h1", "Heartbeat", {}]))[:2] == [3, "h1"]
        while system.writer.alive:  # whatever ended it, the writer task is gone
            system.writer._task.cancel()
            await asyncio.sleep(0.01)
        assert await asyncio.wait_for(serving, 30) == EXIT_WRITER_DIED
