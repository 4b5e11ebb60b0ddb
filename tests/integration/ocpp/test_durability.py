"""Nothing a charge point was told is stored is lost: re-sent messages count once, orphan stops
are kept, and data confirmed while the database was away is all there once it returns."""

from __future__ import annotations

import uuid
from dataclasses import replace

from databases import copy_database, database_url, drop_database
from ocpp.v16 import call
from ocpp_support import (
    TEST_CONFIG,
    charge_point,
    eventually,
    query,
    running,
    seen_then_database_gone,
)

T0 = "2024-01-27T09:45:00Z"


def _energy(at: str, wh: int) -> list[dict]:
    return [{"timestamp": at, "sampledValue": [{"value": str(wh), "unit": "Wh"}]}]


async def test_a_stop_for_an_unknown_transaction_is_confirmed_and_kept_once(central, db_url):
    async with charge_point(central, "CP-O") as cp:
        for _ in range(2):
            answer = await cp.call(call.StopTransaction(20500, "2024-01-27T11:00:00Z", 999))
            assert answer.id_tag_info is None
    (row,) = query(db_url, "SELECT * FROM wattline.transactions")
    assert (row["orphan"], row["charger_transaction_id"], row["meter_stop_wh"]) == (
        True,
        999,
        20500,
    )
    assert row["id"] != 999


async def test_data_confirmed_while_the_database_is_away_is_all_there_after(template_db, tmp_path):
    name = f"wattline_test_{uuid.uuid4().hex[:12]}"
    url = database_url(name)
    spool = tmp_path / "spool.jsonl"
    copy_database(name, template_db)
    try:
        async with running(replace(TEST_CONFIG, spool_path=spool), url) as central:
            # The database goes: every connection is refused, as when the server is down.
            await seen_then_database_gone(central, name, "CP-OFF")
            async with charge_point(central, "CP-OFF") as cp:
                await cp.call(call.BootNotification("Wallbox 22", "Acme"))
                start = await cp.call(call.StartTransaction(1, "TAG-1", 5123, T0))
                tx = start.transaction_id
                assert start.id_tag_info["status"] == "Invalid"  # no tag can be checked
                assert tx < 0  # numbered offline, from the start's natural key
                # The backlog arrives out of order; energy is ordered by the charger's clock.
                for at, wh in [("2024-01-27T10:30:00Z", 12000), ("2024-01-27T10:15:00Z", 9000)]:
                    await cp.call(call.MeterValues(1, _energy(at, wh), transaction_id=tx))
                await cp.call(call.StopTransaction(15234, "2024-01-27T10:52:00Z", tx))
                assert spool.read_bytes().count(b"\n@wl ") + 1 >= 5  # records

                copy_database(name, template_db)  # the database comes back
                await eventually(lambda: not spool.exists(), timeout=10)

                again = await cp.call(call.StartTransaction(1, "TAG-1", 5123, T0))
                assert again.transaction_id == tx
        rows = query(url, "SELECT * FROM wattline.transactions")
        values = query(url, "SELECT value, delta FROM wattline.meter_values ORDER BY time")
        connectors = query(url, "SELECT last_meter_wh FROM wattline.connectors")
        assert [(r["id"], r["meter_start_wh"], r["meter_stop_wh"]) for r in rows] == [
            (tx, 5123, 15234)
        ]
        assert [v["value"] for v in values] == [5123, 9000, 12000, 15234]
        # 3877 + 3000 + 3234 = 15234 - 5123 = 10111 Wh
        assert [v["delta"] for v in values] == [0, 3877, 3000, 3234]
        assert connectors == [{"last_meter_wh": 15234}]
    finally:
        drop_database(name)
