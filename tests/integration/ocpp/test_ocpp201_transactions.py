"""OCPP 2.0.1 transactions through the real central system, from the ocpp library's v201
ChargePoint: a session sent as TransactionEvents has the same energy, money, SOC and rollup
energy as the same session sent as 1.6 StartTransaction/MeterValues/StopTransaction; re-sent
events count once; seqNo gaps are found; bad input is answered in the 2.0.1 spelling.

By hand, both sessions, on connector 1 of a tariff of 12.50 INR/kWh + 18 % tax, max 22 kW, for
a car of 40 kWh at 6 km/kWh: register 1,000 Wh at 09:00, 4,000 at 09:20, 7,000 at 09:40 and
10,000 at 10:00 (the stop) = 9.000 kWh; 9 x 12.50 = 112.50 + 20.25 tax = 132.75; SOC change
9 / 40 = 22.5 %; 54 km; 9.000 kW over the hour, 40.9 % of the connector's 22 kW."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

import websockets
from databases import copy_database, database_url, drop_database
from ocpp.v16 import call as call16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call
from ocpp_support import (
    TEST_CONFIG,
    charge_point,
    eventually,
    exchange,
    execute,
    query,
    running,
    url_of,
)

from analytics import session_report_job
from sql import db, rollups

REGISTER = "Energy.Active.Import.Register"


def _at(hh_mm: str) -> str:
    return f"2024-01-27T{hh_mm}:00Z"


def _register(hh_mm: str, value, context: str, unit: dict | None = None) -> list[dict]:
    sampled = {"value": value, "context": context, "measurand": REGISTER}
    sampled["unitOfMeasure"] = unit or {"unit": "Wh"}
    return [{"timestamp": _at(hh_mm), "sampledValue": [sampled]}]


def _event(
    kind: str, seq: int, hh_mm: str, tx: str, trigger: str, **extra
) -> call.TransactionEvent:
    info = {"transactionId": tx} | extra.pop("info", {})
    return call.TransactionEvent(
        event_type=kind,
        timestamp=_at(hh_mm),
        trigger_reason=trigger,
        seq_no=seq,
        transaction_info=info,
        **extra,
    )


def station(central, identity: str):
    return charge_point(central, identity, ChargePoint201, "ocpp2.0.1")


def _set_up(url: str, *charge_points: str) -> None:
    execute(
        url,
        "INSERT INTO wattline.tariffs (id, currency, energy_rate, tax_rate)"
        " VALUES ('T1', 'INR', 12.50, 0.18) ON CONFLICT DO NOTHING;"
        "INSERT INTO wattline.id_tags (id_tag) VALUES ('TAG-EQ') ON CONFLICT DO NOTHING;"
        "INSERT INTO wattline.vehicles (id_tag, battery_kwh, km_per_kwh) VALUES ('TAG-EQ', 40, 6)"
        " ON CONFLICT DO NOTHING",
    )
    for cp in charge_points:
        execute(url, "INSERT INTO wattline.charge_points (id) VALUES (%s)", [cp])
        execute(
            url,
            "INSERT INTO wattline.connectors (charge_point_id, connector_id, tariff_id,"
            " max_power_kw) VALUES (%s, 1, 'T1', 22)",
            [cp],
        )


async def _session_1_6(central) -> None:
    async with charge_point(central, "CP-16") as cp:
        start = await cp.call(
            call16.StartTransaction(
                connector_id=1, id_tag="TAG-EQ", meter_start=1000, timestamp=_at("09:00")
            )
        )
        tx = start.transaction_id
        for hh_mm, value in (("09:20", "4000"), ("09:40", "7000")):
            sampled = [{"value": value, "measurand": REGISTER, "unit": "Wh"}]
            await cp.call(
                call16.MeterValues(
                    connector_id=1,
                    transaction_id=tx,
                    meter_value=[{"timestamp": _at(hh_mm), "sampledValue": sampled}],
                )
            )
        await cp.call(
            call16.StopTransaction(meter_stop=10000, timestamp=_at("10:00"), transaction_id=tx)
        )


async def _session_2_0_1(central, resend: bool = False) -> list:
    answers = []
    token = {"idToken": "TAG-EQ", "type": "ISO14443"}
    evse = {"id": 1, "connectorId": 1}
    events = [
        _event("Started", 0, "09:00", "TX-A", "Authorized", evse=evse, id_token=token,
               meter_value=_register("09:00", 1000, "Transaction.Begin")),
        # 4 kWh as kWh, and 7,000 Wh as 70 x 10^2 Wh: the unit and multiplier are applied.
        _event("Updated", 1, "09:20", "TX-A", "MeterValuePeriodic",
               meter_value=_register("09:20", 4, "Sample.Periodic", {"unit": "kWh"})),
        _event("Updated", 2, "09:40", "TX-A", "MeterValuePeriodic",
               meter_value=_register("09:40", 70, "Sample.Periodic",
                                     {"unit": "Wh", "multiplier": 2})),
        _event("Ended", 3, "10:00", "TX-A", "EVCommunicationLost",
               info={"stoppedReason": "EVDisconnected"},
               meter_value=_register("10:00", 10000, "Transaction.End")),
    ]  # fmt: skip
    async with station(central, "CP-201") as client:
        for i, event in enumerate(events):
            answers.append(await client.call(event))
            if resend and i in (1, 3):
                answers.append(await client.call(event))  # no answer came: sent again
    return answers


FIGURES = (
    "energy_kwh", "cost", "tax", "total", "soc_change_pct", "range_added_km", "average_kw",
    "efficiency_pct", "hours", "meter_start_wh", "meter_end_wh",
)  # fmt: skip


def _report(url: str) -> dict[str, dict]:
    with db.connect(url) as conn:
        frame = session_report_job.sessions(
            conn, _aware("2024-01-27T00:00:00Z"), _aware("2024-01-28T00:00:00Z")
        )
    return {r["charge_point_id"]: r for r in frame.iter_rows(named=True)}


def _aware(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_a_2_0_1_session_equals_the_same_session_over_1_6(central, db_url):
    _set_up(db_url, "CP-16", "CP-201")
    await _session_1_6(central)
    answers = await _session_2_0_1(central, resend=True)
    assert answers[0].id_token_info == {"status": "Accepted"}
    report = _report(db_url)
    old, new = report["CP-16"], report["CP-201"]
    expected = {
        "energy_kwh": Decimal("9.000"), "cost": Decimal("112.50"), "tax": Decimal("20.25"),
        "total": Decimal("132.75"), "soc_change_pct": Decimal("22.5"), "range_added_km": 54,
    }  # fmt: skip
    for figure, value in expected.items():
        assert old[figure] == value, figure
        assert new[figure] == value, figure
    assert {f: new[f] for f in FIGURES} == {f: old[f] for f in FIGURES}
    assert (new["end_source"], new["stop_reason"]) == ("meter_stop", "EVDisconnected")
    # The rollups: the same 9.000 kWh of deltas per charge point.
    with db.connect(db_url, autocommit=True) as conn:
        rollups.refresh(conn)
        energy = conn.execute(
            "SELECT charge_point_id, sum(energy_wh) AS wh FROM wattline.connector_energy_hourly"
            " GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert [(r["charge_point_id"], r["wh"]) for r in energy] == [
        ("CP-16", Decimal("9000")), ("CP-201", Decimal("9000"))
    ]  # fmt: skip
    # Re-sent events counted once: four events, four register rows.
    events = query(
        db_url,
        "SELECT seq_no, event_type, trigger_reason, offline, stopped_reason"
        " FROM wattline.transaction_events WHERE charge_point_id = 'CP-201' ORDER BY seq_no",
    )
    assert [tuple(e.values()) for e in events] == [
        (0, "Started", "Authorized", False, None),
        (1, "Updated", "MeterValuePeriodic", False, None),
        (2, "Updated", "MeterValuePeriodic", False, None),
        (3, "Ended", "EVCommunicationLost", False, "EVDisconnected"),
    ]
    (count,) = query(
        db_url,
        "SELECT count(*) AS n FROM wattline.meter_values WHERE charge_point_id = 'CP-201'",
    )
    assert count["n"] == 4
    (tx,) = query(
        db_url,
        "SELECT ocpp_transaction_id, id_tag, connector_id FROM wattline.transactions"
        " WHERE charge_point_id = 'CP-201'",
    )
    assert tuple(tx.values()) == ("TX-A", "TAG-EQ", 1)
    assert query(db_url, "SELECT * FROM wattline.transaction_event_gaps") == []


async def test_seq_no_gaps_late_starts_and_offline_events(central, db_url):
    _set_up(db_url, "CP-GAP")
    evse = {"id": 1, "connectorId": 1}
    async with station(central, "CP-GAP") as client:
        # Queued while offline, the Updated comes first; seqNo 1 never comes at all.
        await client.call(
            _event("Updated", 2, "09:30", "TX-G", "MeterValuePeriodic", evse=evse, offline=True,
                   meter_value=_register("09:30", 2500, "Sample.Periodic"))
        )  # fmt: skip
        await client.call(
            _event("Started", 0, "09:00", "TX-G", "CablePluggedIn", evse=evse, offline=True,
                   meter_value=_register("09:00", 500, "Transaction.Begin"))
        )  # fmt: skip
        # Authorized later, in an Updated: the id token fills the transaction in then.
        await client.call(
            _event("Updated", 3, "09:31", "TX-G", "Authorized",
                   id_token={"idToken": "TAG-EQ", "type": "ISO14443"})
        )  # fmt: skip
    (gap,) = query(db_url, "SELECT * FROM wattline.transaction_event_gaps")
    assert (gap["ocpp_transaction_id"], gap["first_seq_no"], gap["last_seq_no"]) == ("TX-G", 0, 3)
    assert (gap["received"], gap["missing"]) == (3, 1)
    (tx,) = query(
        db_url,
        "SELECT started_at, id_tag, stopped_at FROM wattline.transactions"
        " WHERE charge_point_id = 'CP-GAP'",
    )
    assert tx["started_at"].isoformat() == "2024-01-27T09:00:00+00:00"
    assert (tx["id_tag"], tx["stopped_at"]) == ("TAG-EQ", None)
    offline = query(db_url, "SELECT count(*) AS n FROM wattline.transaction_events WHERE offline")
    assert offline[0]["n"] == 2
    # Open, its end the connector's last reading after the start: 2,500 - 500 Wh.
    assert _report(db_url)["CP-GAP"]["energy_kwh"] == Decimal("2.000")


async def test_bad_2_0_1_transaction_input_is_answered_in_its_spelling(central, db_url):
    async with websockets.connect(url_of(central, "CP-X"), subprotocols=["ocpp2.0.1"]) as ws:
        base = {"eventType": "Started", "timestamp": _at("09:00"), "triggerReason": "Authorized",
                "seqNo": 0, "transactionInfo": {"transactionId": "TX-X"},
                "evse": {"id": 1}}  # fmt: skip
        missing = {k: v for k, v in base.items() if k != "transactionInfo"}
        answer = await exchange(ws, [2, "b1", "TransactionEvent", missing])
        assert answer[:3] == [4, "b1", "OccurrenceConstraintViolation"]
        huge = base | {"seqNo": 2**40}
        assert (await exchange(ws, [2, "b2", "TransactionEvent", huge]))[:3] == [
            4, "b2", "PropertyConstraintViolation"
        ]  # fmt: skip
        # A reading no column can hold is confirmed, kept as a reject, and stored nowhere else.
        value = {"timestamp": _at("09:05"), "sampledValue": [{"value": 1e20}]}
        frame = [2, "b3", "MeterValues", {"evseId": 1, "meterValue": [value]}]
        assert await exchange(ws, frame) == [3, "b3", {}]
        good = {"timestamp": _at("09:06"), "sampledValue": [{"value": 12.5, "measurand":
                "Power.Active.Import", "unitOfMeasure": {"unit": "kW"}}]}  # fmt: skip
        frame = [2, "b4", "MeterValues", {"evseId": 1, "meterValue": [good]}]
        assert await exchange(ws, frame) == [3, "b4", {}]
        assert (await exchange(ws, [2, "b5", "Heartbeat", {}]))[:2] == [3, "b5"]
    (reject,) = query(db_url, "SELECT key, reason FROM wattline.ingest_rejects")
    assert reject["key"] == "CP-X/MeterValues" and "1e+20" in reject["reason"].lower()
    (power,) = query(db_url, "SELECT measurand, unit, value FROM wattline.meter_values")
    assert tuple(power.values()) == ("Power.Active.Import", "W", Decimal("12500"))


async def test_transaction_events_while_the_database_is_away(template_db, tmp_path):
    name = f"wattline_test_{uuid.uuid4().hex[:12]}"
    url = database_url(name)
    copy_database(name, template_db)
    spool = tmp_path / "spool.jsonl"
    try:
        async with running(replace(TEST_CONFIG, spool_path=spool), url) as central:
            async with station(central, "CP-AWAY") as client:
                await client.call(call.Heartbeat())  # seen once: its credentials are cached
                drop_database(name)
                evse = {"id": 1, "connectorId": 1}
                await client.call(
                    _event("Started", 0, "09:00", "TX-W", "CablePluggedIn", evse=evse,
                           meter_value=_register("09:00", 100, "Transaction.Begin"))
                )  # fmt: skip
                await client.call(
                    _event("Ended", 1, "09:30", "TX-W", "EVCommunicationLost",
                           info={"stoppedReason": "EVDisconnected"},
                           meter_value=_register("09:30", 3100, "Transaction.End"))
                )  # fmt: skip
                assert spool.exists()
                copy_database(name, template_db)  # back: the spool is replayed
                await eventually(lambda: not spool.exists(), timeout=15)
        (tx,) = query(
            url,
            "SELECT ocpp_transaction_id, meter_start_wh, meter_stop_wh, stop_reason"
            " FROM wattline.transactions",
        )
        assert tuple(tx.values()) == ("TX-W", Decimal("100"), Decimal("3100"), "EVDisconnected")
        assert len(query(url, "SELECT 1 FROM wattline.transaction_events")) == 2
    finally:
        drop_database(name)


async def test_readings_before_the_evse_is_named_are_kept_and_the_connector_filled_in(
    central, db_url
):
    _set_up(db_url, "CP-NOEVSE")
    async with station(central, "CP-NOEVSE") as client:
        # Against the spec, the Started names no EVSE: its reading cannot go in a series.
        await client.call(
            _event("Started", 0, "09:00", "TX-N", "CablePluggedIn",
                   meter_value=_register("09:00", 800, "Transaction.Begin"))
        )  # fmt: skip
        await client.call(
            _event("Updated", 1, "09:10", "TX-N", "MeterValuePeriodic",
                   evse={"id": 1, "connectorId": 1},
                   meter_value=_register("09:10", 1800, "Sample.Periodic"))
        )  # fmt: skip
    (tx,) = query(
        db_url,
        "SELECT connector_id, meter_start_wh FROM wattline.transactions"
        " WHERE charge_point_id = 'CP-NOEVSE'",
    )
    assert (tx["connector_id"], tx["meter_start_wh"]) == (1, Decimal("800"))
    (reject,) = query(db_url, "SELECT key, reason, raw FROM wattline.ingest_rejects")
    assert reject["key"] == "CP-NOEVSE/MeterValues" and "no EVSE known" in reject["reason"]
    assert '"800"' in reject["raw"]
    values = query(db_url, "SELECT connector_id, value FROM wattline.meter_values")
    assert [(v["connector_id"], v["value"]) for v in values] == [(1, Decimal("1800"))]
