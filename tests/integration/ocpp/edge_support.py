"""For the edge tests: one charger sends a bad frame while another sends MeterValues at the same
time, and what each got and what was stored is checked by hand."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from ocpp_support import TEST_CONFIG, eventually, query, raw_socket, running

from ingest.ocpp.server import CentralSystem

# Big enough for a frame nested 100,000 deep (200 KB): the depth check, not the size limit,
# must be what answers it.
EDGE_CONFIG = replace(TEST_CONFIG, max_frame_bytes=1_000_000)
GOOD, BAD = "CP-GOOD", "CP-BAD"


@asynccontextmanager
async def central(db_url: str, tmp_path: Path) -> AsyncIterator[CentralSystem]:
    config = replace(EDGE_CONFIG, spool_path=tmp_path / "spool.jsonl")
    async with running(config, db_url) as system:
        yield system


def meter_values(message_id: str, wh: str, at: str, connector: int = 1, **extra: Any) -> list[Any]:
    entry = {"timestamp": at, "sampledValue": [{"value": wh}]}
    return [
        2,
        message_id,
        "MeterValues",
        {"connectorId": connector, "meterValue": [entry], **extra},
    ]


async def alongside_a_good_charger(central: CentralSystem, frame: str | list) -> list | None:
    """Send ``frame`` from CP-BAD while CP-GOOD sends four MeterValues (1000-1003 Wh), two before
    and two after it, without waiting, so their batches share commits with the bad one's. Then
    CP-BAD sends a good MeterValues (7777 Wh at 10:00). Returns CP-BAD's answer to ``frame``
    (None if none came within a second); every other answer is checked here."""
    text = frame if isinstance(frame, str) else json.dumps(frame)
    async with raw_socket(central, BAD) as bad, raw_socket(central, GOOD) as good:
        for i in range(4):
            if i == 2:
                await bad.send(text)
            await good.send(json.dumps(meter_values(f"g{i}", str(1000 + i), f"{_at(i)}")))
        for i in range(4):
            answer = json.loads(await asyncio.wait_for(good.recv(), 5))
            assert answer == [3, f"g{i}", {}]
        try:
            answer = json.loads(await asyncio.wait_for(bad.recv(), 1))
        except TimeoutError:
            answer = None
        after = meter_values("after", "7777", "2024-01-27T10:00:00Z")
        await bad.send(json.dumps(after))
        assert json.loads(await asyncio.wait_for(bad.recv(), 5)) == [3, "after", {}]
    return answer


def _at(i: int) -> str:
    return f"2024-01-27T09:4{i}:00Z"


def readings(db_url: str, charge_point_id: str) -> list[tuple[str, int]]:
    rows = query(
        db_url,
        "SELECT to_char(time AT TIME ZONE 'UTC', 'HH24:MI') AS at, value FROM wattline.meter_values"
        " WHERE charge_point_id = %s ORDER BY time, value",
        [charge_point_id],
    )
    return [(r["at"], r["value"]) for r in rows]


async def frames_of(db_url: str, charge_point_id: str, count: int) -> list[dict[str, Any]]:
    """The charge point's ocpp_messages rows, once there are ``count`` (replies are flushed in
    the background); fails if there are ever more."""

    def check() -> list[dict[str, Any]] | None:
        rows = query(
            db_url,
            "SELECT direction, message_type, message_id, action, payload, raw"
            " FROM wattline.ocpp_messages WHERE charge_point_id = %s ORDER BY time",
            [charge_point_id],
        )
        assert len(rows) <= count, rows
        return rows if len(rows) == count else None

    return await eventually(check)


async def check_the_good_charger(db_url: str) -> None:
    """All four of CP-GOOD's MeterValues stored once, and its eight frames (four in, four out)."""
    assert readings(db_url, GOOD) == [(f"09:4{i}", 1000 + i) for i in range(4)]
    rows = await frames_of(db_url, GOOD, 8)
    assert sorted((r["direction"], r["message_id"]) for r in rows) == sorted(
        [("in", f"g{i}") for i in range(4)] + [("out", f"g{i}") for i in range(4)]
    )
    assert all(r["payload"] is not None and r["raw"] is None for r in rows)
