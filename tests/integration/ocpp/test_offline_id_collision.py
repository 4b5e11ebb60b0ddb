"""Two starts numbered offline with the same transactionId (forced: the hash made constant) are
both kept when the spool replays, and each charger's MeterValues, StopTransaction and re-sent
StartTransaction keep reaching its own transaction by the id it was told; so does a start
numbered online whose re-sent copy was told an offline id."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

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

from ingest.ocpp import service
from sql import queries

TOLD = -7  # what both chargers are told
STARTS = {"CP-A": ("2024-01-27T09:00:00Z", 1000), "CP-B": ("2024-01-27T09:05:00Z", 5000)}


def _energy(at: str, wh: int) -> list[dict]:
    return [{"timestamp": at, "sampledValue": [{"value": str(wh), "unit": "Wh"}]}]


async def test_colliding_offline_starts_are_both_kept_and_found_by_the_id_told(
    template_db, tmp_path, monkeypatch
):
    monkeypatch.setattr(service, "offline_transaction_id", lambda *key: TOLD)
    name = f"wattline_test_{uuid.uuid4().hex[:12]}"
    url = database_url(name)
    spool = tmp_path / "spool.jsonl"
    copy_database(name, template_db)
    try:
        async with running(replace(TEST_CONFIG, spool_path=spool), url) as central:
            await seen_then_database_gone(central, name, "CP-A", "CP-B")  # the database is away
            async with charge_point(central, "CP-A") as a, charge_point(central, "CP-B") as b:
                for cp, connector, (at, wh) in [(a, 1, STARTS["CP-A"]), (b, 2, STARTS["CP-B"])]:
                    start = await cp.call(call.StartTransaction(connector, "TAG-1", wh, at))
                    assert start.transaction_id == TOLD
                await a.call(call.MeterValues(1, _energy("2024-01-27T09:30:00Z", 1400), TOLD))
                await b.call(call.MeterValues(2, _energy("2024-01-27T09:30:00Z", 5900), TOLD))
                await a.call(call.StopTransaction(1500, "2024-01-27T09:40:00Z", TOLD))

                copy_database(name, template_db)  # the database comes back; the spool replays
                await eventually(lambda: not spool.exists(), timeout=10)

                # Online now: B's re-sent start gets the id it was told, and its stop finds it.
                at, wh = STARTS["CP-B"]
                again = await b.call(call.StartTransaction(2, "TAG-1", wh, at))
                assert again.transaction_id == TOLD
                await b.call(call.MeterValues(2, _energy("2024-01-27T09:50:00Z", 6500), TOLD))
                await b.call(call.StopTransaction(7000, "2024-01-27T10:00:00Z", TOLD))
        rows = query(
            url,
            "SELECT charge_point_id, connector_id, id, charger_transaction_id, meter_start_wh,"
            " meter_stop_wh, orphan FROM wattline.transactions ORDER BY charge_point_id",
        )
        assert [tuple(r.values()) for r in rows] == [
            ("CP-A", 1, -7, None, 1000, 1500, False),  # replayed first: the id it was told
            ("CP-B", 2, -8, -7, 5000, 7000, False),  # -7 taken: the next free id down
        ]
        values = query(
            url,
            "SELECT charge_point_id, connector_id, transaction_id, value FROM wattline.meter_values"
            " ORDER BY charge_point_id, time",
        )
        assert [tuple(v.values()) for v in values] == [
            ("CP-A", 1, -7, 1000), ("CP-A", 1, -7, 1400), ("CP-A", 1, -7, 1500),
            ("CP-B", 2, -7, 5000), ("CP-B", 2, -7, 5900), ("CP-B", 2, -7, 6500),
            ("CP-B", 2, -7, 7000),
        ]  # fmt: skip
        # Energy per session, as the report computes it: 1500 - 1000 and 7000 - 5000 Wh.
        report = query(
            url,
            "SELECT charge_point_id, energy_kwh FROM wattline.session_report ORDER BY 1",
        )
        assert [tuple(r.values()) for r in report] == [("CP-A", 0.5), ("CP-B", 2)]
    finally:
        drop_database(name)


def test_a_start_numbered_online_then_resent_offline_answers_to_the_offline_id(conn):
    # The first StartTransaction was numbered online, its reply lost; the charger re-sent it
    # while the database was away and was told an offline id, which it uses from then on.
    start = {
        "charge_point_id": "CP-R",
        "connector_id": 1,
        "id_tag": "TAG-1",
        "meter_start_wh": 100,
        "started_at": datetime(2024, 1, 27, 9, tzinfo=UTC),
        "received_at": datetime(2024, 1, 27, 9, tzinfo=UTC),
    }
    conn.execute("INSERT INTO wattline.charge_points (id) VALUES ('CP-R')")
    online = conn.execute(queries.get("find_or_create_transaction"), start).fetchone()["id"]
    conn.execute(queries.get("insert_offline_transaction"), {**start, "transaction_id": TOLD})
    conn.execute(
        queries.get("stop_transaction"),
        {
            "charge_point_id": "CP-R",
            "transaction_id": TOLD,
            "meter_stop_wh": 900,
            "stopped_at": datetime(2024, 1, 27, 10, tzinfo=UTC),
            "received_at": datetime(2024, 1, 27, 10, tzinfo=UTC),
            "reason": "Local",
            "id_tag": None,
        },
    )
    rows = conn.execute(
        "SELECT id, charger_transaction_id, meter_stop_wh, orphan FROM wattline.transactions"
    ).fetchall()
    assert rows == [
        {"id": online, "charger_transaction_id": TOLD, "meter_stop_wh": 900, "orphan": False}
    ]
    # A third copy of the start, online again, answers with the id the charger now uses.
    again = conn.execute(queries.get("find_or_create_transaction"), start).fetchone()["id"]
    assert again == TOLD
    connector = conn.execute(
        queries.get("transaction_connector"), {"charge_point_id": "CP-R", "transaction_id": TOLD}
    ).fetchone()
    assert connector == {"connector_id": 1}
