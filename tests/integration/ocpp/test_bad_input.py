"""Bad input gets the answer OCPP-J 1.6 prescribes, and the server keeps serving."""

from __future__ import annotations

import asyncio
import json

import pytest
from ocpp.v16 import call
from ocpp_support import basic_auth, charge_point, eventually, exchange, query, raw_socket
from websockets.exceptions import ConnectionClosed

from ingest.ocpp import admin

START = {
    "connectorId": 1,
    "idTag": "TAG-1",
    "meterStart": 5123,
    "timestamp": "2024-01-27T09:45:00Z",
}


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ([2, "1", "PayMeNow", {}], "NotImplemented"),
        (
            [2, "2", "StartTransaction", {k: v for k, v in START.items() if k != "meterStart"}],
            "ProtocolError",
        ),
        ([2, "3", "StartTransaction", {**START, "meterStart": "5123"}], "TypeConstraintViolation"),
        ([2, "4", "StartTransaction", {**START, "colour": "red"}], "FormationViolation"),
        ([2, "5", "StartTransaction", {**START, "timestamp": "yesterday"}], "FormationViolation"),
        (
            [2, "6", "StartTransaction", {**START, "timestamp": "2024-01-27T09:45:00"}],
            "FormationViolation",
        ),
        (
            [
                2,
                "7",
                "StatusNotification",
                {"connectorId": -1, "errorCode": "NoError", "status": "Available"},
            ],
            "PropertyConstraintViolation",
        ),
        ([2, "8", "Heartbeat"], "ProtocolError"),
        ([2, "9", 42, {}], "NotImplemented"),
        ([2, "10", "Heartbeat", []], "TypeConstraintViolation"),
    ],
)
async def test_a_bad_call_gets_the_1_6_error_code(central, db_url, frame, code):
    async with raw_socket(central, "CP-BAD") as ws:
        answer = await exchange(ws, frame)
        assert answer[:3] == [4, frame[1], code]
        # The same connection goes on serving.
        assert (await exchange(ws, [2, "hb", "Heartbeat", {}]))[:2] == [3, "hb"]
    assert not query(db_url, "SELECT * FROM wattline.transactions")


async def test_a_frame_that_is_not_json_is_kept_raw_and_the_connection_goes_on(central, db_url):
    async with raw_socket(central, "CP-RAW") as ws:
        await ws.send("this is not [json")
        assert (await exchange(ws, [2, "hb", "Heartbeat", {}]))[:2] == [3, "hb"]
    rows = await eventually(
        lambda: query(db_url, "SELECT raw FROM wattline.ocpp_messages WHERE message_type IS NULL")
    )
    assert rows == [{"raw": "this is not [json"}]


async def test_sampled_values_that_are_not_numbers_are_confirmed_but_quarantined(central, db_url):
    values = [
        {"value": "1500", "unit": "Wh"},
        {"value": "abc", "measurand": "Voltage"},
        {"value": "NaN", "measurand": "Current.Import"},
        {"value": "Infinity", "measurand": "Power.Active.Import"},
    ]
    frame = [
        2,
        "mv",
        "MeterValues",
        {
            "connectorId": 1,
            "meterValue": [{"timestamp": "2024-01-27T09:45:00Z", "sampledValue": values}],
        },
    ]
    async with raw_socket(central, "CP-Q") as ws:
        assert await exchange(ws, frame) == [3, "mv", {}]
    stored = query(db_url, "SELECT measurand, value FROM wattline.meter_values")
    assert stored == [{"measurand": "Energy.Active.Import.Register", "value": 1500}]
    rejects = query(
        db_url, "SELECT source, key, reason, raw FROM wattline.ingest_rejects ORDER BY reason"
    )
    assert [(r["source"], r["key"]) for r in rejects] == [("ocpp", "CP-Q/MeterValues")] * 3
    assert [json.loads(r["raw"])["value"] for r in rejects] == ["Infinity", "NaN", "abc"]
    assert all("not a finite number" in r["reason"] for r in rejects)


async def test_a_frame_over_the_size_limit_closes_that_connection_only(central):
    async with raw_socket(central, "CP-BIG") as ws:
        await ws.send(
            json.dumps([2, "big", "DataTransfer", {"vendorId": "x", "data": "y" * 20_000}])
        )
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd.code == 1009
    async with raw_socket(central, "CP-BIG") as ws:
        assert (await exchange(ws, [2, "hb", "Heartbeat", {}]))[:2] == [3, "hb"]


async def test_a_second_connection_with_the_same_credentials_replaces_the_first(central, db_url):
    # Only one that proves the password may replace a connection (test_security.py: the rest).
    admin.save_charge_point(db_url, "CP-TWICE", "twice-pass")
    login = {"additional_headers": basic_auth("CP-TWICE", "twice-pass")}
    async with charge_point(central, "CP-TWICE", **login) as first:
        async with charge_point(central, "CP-TWICE", **login) as second:
            await asyncio.wait_for(first._connection.wait_closed(), 5)
            await second.call(call.Heartbeat())
            assert central.connected["CP-TWICE"].id == "CP-TWICE"
    await eventually(lambda: "CP-TWICE" not in central.connected)


async def test_a_dead_peer_is_dropped_after_the_ping_time_out(central):
    # A peer that completes the handshake and then never reads again: no pongs.
    reader, writer = await asyncio.open_connection("127.0.0.1", central.port)
    writer.write(
        b"GET /ocpp/CP-DEAD HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ocpp1.6\r\n\r\n"
    )
    status = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert status.startswith(b"HTTP/1.1 101")
    try:
        await eventually(lambda: "CP-DEAD" in central.connected)
        await eventually(lambda: "CP-DEAD" not in central.connected, timeout=8)
    finally:
        writer.close()


async def test_what_the_database_would_refuse_is_answered_and_the_frame_kept(central, db_url):
    status = {"connectorId": 1, "errorCode": "NoError", "status": "Available", "info": "a\u0000b"}
    async with raw_socket(central, "CP-NUL") as ws:
        answer = await exchange(ws, [2, "s1", "StatusNotification", status])
        assert answer[:3] == [4, "s1", "PropertyConstraintViolation"]
        too_big = {**status, "connectorId": 2**31, "info": "ok"}
        answer = await exchange(ws, [2, "s2", "StatusNotification", too_big])
        assert answer[:3] == [4, "s2", "PropertyConstraintViolation"]
        assert (await exchange(ws, [2, "hb", "Heartbeat", {}]))[:2] == [3, "hb"]
    # The refused frame is kept as escaped text beside its head; nothing of it is stored.
    rows = await eventually(
        lambda: query(
            db_url,
            "SELECT message_type, action, raw FROM wattline.ocpp_messages"
            " WHERE message_id = 's1' AND direction = 'in'",
        )
    )
    assert rows == [
        {
            "message_type": 2,
            "action": "StatusNotification",
            "raw": json.dumps([2, "s1", "StatusNotification", status]),
        }
    ]
    assert "a\\u0000b" in rows[0]["raw"]
    assert not query(db_url, "SELECT * FROM wattline.status_notifications")
    assert not query(db_url, "SELECT * FROM wattline.ingest_rejects")
