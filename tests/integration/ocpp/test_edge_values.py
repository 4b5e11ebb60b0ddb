"""Values the database would refuse (ids beyond 32 bits, numbers beyond range, NUL, lone
surrogates, NaN, deep nesting, payloads that are not objects) get their OCPP-J 1.6 error, while a
charger sending MeterValues at the same time is served and stored in full, and the sender goes
on being served."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import pytest
from edge_support import (
    BAD,
    alongside_a_good_charger,
    check_the_good_charger,
    frames_of,
    meter_values,
    readings,
)
from edge_support import central as edge_central
from ocpp_support import eventually, execute, query, raw_socket

AT = "2024-01-27T09:45:00Z"
START = {"connectorId": 1, "idTag": "TAG-1", "meterStart": 5123, "timestamp": AT}
STOP = {"transactionId": 1, "meterStop": 6000, "timestamp": "2024-01-27T10:45:00Z"}
RANGE, FORM, TYPE = "PropertyConstraintViolation", "FormationViolation", "TypeConstraintViolation"
DEEP = 100_000


def _start(**changes):
    return [2, "bad", "StartTransaction", {**START, **changes}]


def _stop(**changes):
    return [2, "bad", "StopTransaction", {**STOP, **changes}]


def _bad_meter_values(wh: str = "5", **extra):
    return meter_values("bad", wh, AT, **extra)


CASES = {
    # integers beyond their column (int32 ids); 2^32+5 used to be stored as 5
    "MeterValues transactionId 2^63": (_bad_meter_values(transactionId=2**63), RANGE),
    "MeterValues transactionId 2^32+5": (_bad_meter_values(transactionId=2**32 + 5), RANGE),
    "MeterValues transactionId 2^40": (_bad_meter_values(transactionId=2**40), RANGE),
    "MeterValues connectorId 2^63": (_bad_meter_values(connector=2**63), RANGE),
    "StopTransaction transactionId 2^63": (_stop(transactionId=2**63), RANGE),
    "StopTransaction transactionId 2^32+5": (_stop(transactionId=2**32 + 5), RANGE),
    "StopTransaction transactionId 2^40": (_stop(transactionId=2**40), RANGE),
    "StartTransaction connectorId 2^63": (_start(connectorId=2**63), RANGE),
    "StartTransaction connectorId 2^32+5": (_start(connectorId=2**32 + 5), RANGE),
    "StartTransaction connectorId 2^40": (_start(connectorId=2**40), RANGE),
    # numbers beyond numeric's range (as this system bounds it: |x| < 1e15 Wh)
    "StartTransaction meterStart 1e1000000": (
        json.dumps(_start(meterStart=0)).replace('"meterStart": 0', '"meterStart": 1e1000000'),
        RANGE,
    ),
    "StartTransaction meterStart 2^63": (_start(meterStart=2**63), RANGE),
    "StopTransaction meterStop 1e16": (_stop(meterStop=10**16), RANGE),
    "StopTransaction meterStop of 5,000 digits": (
        json.dumps(_stop()).replace('"meterStop": 6000', '"meterStop": ' + "9" * 5000),
        RANGE,
    ),
    # text PostgreSQL cannot hold
    "Authorize idTag with NUL": ([2, "bad", "Authorize", {"idTag": "TAG\x00"}], RANGE),
    "BootNotification vendor with NUL": (
        [2, "bad", "BootNotification", {"chargePointVendor": "V\x00", "chargePointModel": "M"}],
        RANGE,
    ),
    "MeterValues sampled value with NUL": (_bad_meter_values("12\x00"), RANGE),
    "StartTransaction idTag a lone surrogate": (_start(idTag="TAG\ud800"), RANGE),
    "DataTransfer key a lone surrogate": (
        [2, "bad", "DataTransfer", {"vendorId": "x", "k\udc00": "y"}],
        RANGE,
    ),
    # not plain JSON
    "MeterValues connectorId NaN": (
        json.dumps(_bad_meter_values()).replace('"connectorId": 1', '"connectorId": NaN'),
        FORM,
    ),
    "DataTransfer data -Infinity": (
        '[2, "bad", "DataTransfer", {"vendorId": "x", "data": -Infinity}]',
        FORM,
    ),
    f"DataTransfer nested {DEEP:,} deep": (
        '[2, "bad", "DataTransfer", {"vendorId": "x", "data": ' + "[" * DEEP + "]" * DEEP + "}]",
        FORM,
    ),
    "Heartbeat cut short": ('[2, "bad", "Heartbeat", {', FORM),
    # payloads that are not objects
    "MeterValues payload a list": ([2, "bad", "MeterValues", [1, 2]], TYPE),
    "StartTransaction payload a string": ([2, "bad", "StartTransaction", "x"], TYPE),
    "MeterValues payload null": ([2, "bad", "MeterValues", None], TYPE),
}
# Frames edge.loads refuses whole: kept as escaped text, their payload not as jsonb.
UNREADABLE = {"1e1000000", "digits", "NUL", "surrogate", "NaN", "Infinity", "deep", "cut short"}


@pytest.mark.parametrize("case", list(CASES))
async def test_refused_with_its_code_and_no_one_else_is_harmed(db_url, tmp_path, case):
    frame, code = CASES[case]
    async with edge_central(db_url, tmp_path) as central:
        answer = await alongside_a_good_charger(central, frame)
        assert answer[:3] == [4, "bad", code]
        assert json.dumps(answer).isascii()
        await check_the_good_charger(db_url)
        # The sender: only its good MeterValues stored, its four frames kept.
        assert readings(db_url, BAD) == [("10:00", 7777)]
        rows = await frames_of(db_url, BAD, 4)
    assert [(r["direction"], r["message_id"]) for r in rows] == [
        ("in", "bad"),
        ("out", "bad"),
        ("in", "after"),
        ("out", "after"),
    ]
    refused = rows[0]
    text = frame if isinstance(frame, str) else json.dumps(frame)
    if any(word in case for word in UNREADABLE):
        assert refused["payload"] is None and refused["raw"] == text
        assert "\x00" not in refused["raw"]
    else:
        assert refused["payload"] == json.loads(text)[3] and refused["raw"] is None
    assert rows[1]["payload"]["errorCode"] == code
    assert not query(db_url, "SELECT * FROM wattline.transactions")
    assert not query(db_url, "SELECT * FROM wattline.status_notifications")
    assert not query(db_url, "SELECT * FROM wattline.ingest_rejects")


async def test_a_sampled_value_beyond_range_is_confirmed_and_kept_as_a_reject(db_url, tmp_path):
    values = [
        {"value": "1e1000000"},
        {"value": "2000000000000", "unit": "kWh"},  # 2e12 kWh is 2e15 Wh
        # Firmware printing a raw double: stored, its float noise rounded away at 12 decimals.
        {"value": "0.30000000000000004", "measurand": "Current.Import"},
        {"value": "1500"},
    ]
    frame = [
        2,
        "bad",
        "MeterValues",
        {"connectorId": 1, "meterValue": [{"timestamp": AT, "sampledValue": values}]},
    ]
    async with edge_central(db_url, tmp_path) as central:
        assert await alongside_a_good_charger(central, frame) == [3, "bad", {}]
        await check_the_good_charger(db_url)
        stored = [("09:45", Decimal("0.3")), ("09:45", 1500), ("10:00", 7777)]
        assert readings(db_url, BAD) == stored
        await frames_of(db_url, BAD, 4)
    rejects = query(db_url, "SELECT key, reason, raw FROM wattline.ingest_rejects ORDER BY reason")
    assert [json.loads(r["raw"]) for r in rejects] == [values[0], values[1]]
    assert [r["key"] for r in rejects] == ["CP-BAD/MeterValues"] * 2
    assert "'1e1000000' is out of range" in rejects[0]["reason"]
    assert "Wh is out of range" in rejects[1]["reason"]


async def test_a_frame_with_no_id_to_answer_to_is_kept_and_ignored(db_url, tmp_path):
    frame = json.dumps([2, "id\x00", "Heartbeat", {}])
    async with edge_central(db_url, tmp_path) as central:
        assert await alongside_a_good_charger(central, frame) is None
        await check_the_good_charger(db_url)
        rows = await frames_of(db_url, BAD, 3)
    assert (rows[0]["message_type"], rows[0]["raw"]) == (None, frame)
    assert [r["message_id"] for r in rows[1:]] == ["after", "after"]


async def test_an_answer_to_a_command_holding_nul_fails_the_command(db_url, tmp_path):
    execute(db_url, "INSERT INTO wattline.charge_points (id) VALUES (%s)", [BAD])
    async with edge_central(db_url, tmp_path) as central:
        await eventually(central.commands.listening.is_set)
        async with raw_socket(central, BAD) as ws:
            execute(
                db_url,
                "INSERT INTO wattline.commands (charge_point_id, action, payload)"
                " VALUES (%s, 'GetConfiguration', '{}')",
                [BAD],
            )
            command = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert command[0::2] == [2, "GetConfiguration"]
            keys = [{"key": "Owner\x00", "readonly": True}]
            await ws.send(json.dumps([3, command[1], {"configurationKey": keys}]))

            def finished():
                return query(db_url, "SELECT status, error, response FROM wattline.commands")[0][
                    "status"
                ] not in ("requested", "sent")

            await eventually(finished)
            # Still served.
            await ws.send(json.dumps(meter_values("after", "7777", "2024-01-27T10:00:00Z")))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == [3, "after", {}]
    (done,) = query(db_url, "SELECT status, error, response FROM wattline.commands")
    assert done["status"] == "failed" and done["response"] is None
    assert done["error"].startswith("PropertyConstraintViolation: the answer was refused")
    assert "configurationKey[0].key contains NUL" in done["error"]
    (answer,) = query(
        db_url,
        "SELECT action, payload, raw FROM wattline.ocpp_messages"
        " WHERE direction = 'in' AND message_type = 3",
    )
    assert answer["action"] == "GetConfiguration" and answer["payload"] is None
    assert "Owner\\u0000" in answer["raw"]
