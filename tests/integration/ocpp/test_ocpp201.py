"""OCPP 2.0.1 beside 1.6 on one endpoint: the version negotiated from the subprotocols offered,
recorded per charge point, and 2.0.1 messages from the ocpp library's v201 ChargePoint."""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import websockets
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call
from ocpp_support import TEST_CONFIG, charge_point, execute, query, running, url_of
from websockets.exceptions import InvalidStatus

from ingest.ocpp.auth import hash_password
from sql import db, queries

T0 = "2024-01-27T09:45:00Z"


async def test_both_offered_gives_2_0_1_and_each_version_is_recorded(central, db_url):
    async with websockets.connect(
        url_of(central, "CP-NEW"), subprotocols=["ocpp1.6", "ocpp2.0.1"]
    ) as ws:
        assert ws.subprotocol == "ocpp2.0.1"
        client = ChargePoint201("CP-NEW", ws)
        task = asyncio.create_task(client.start())
        try:
            boot = await client.call(
                call.BootNotification(
                    charging_station={
                        "vendor_name": "Acme",
                        "model": "AC 22",
                        "firmware_version": "2.0",
                    },
                    reason="PowerUp",
                )
            )
            assert boot.status == "Accepted"
            assert boot.interval == 300
            beat = await client.call(call.Heartbeat())
            assert beat.current_time.endswith("Z")
        finally:
            task.cancel()
    async with charge_point(central, "CP-OLD") as old:
        from ocpp.v16 import call as call16

        await old.call(call16.BootNotification(charge_point_model="W", charge_point_vendor="V"))
    rows = query(
        db_url,
        "SELECT id, vendor, model, firmware, ocpp_version FROM wattline.charge_points ORDER BY id",
    )
    assert [tuple(r.values()) for r in rows] == [
        ("CP-NEW", "Acme", "AC 22", "2.0", "2.0.1"),
        ("CP-OLD", "V", "W", None, "1.6"),
    ]


async def test_status_and_authorize_in_2_0_1(central, db_url):
    execute(db_url, "INSERT INTO wattline.id_tags (id_tag) VALUES ('TAG-1')")
    async with websockets.connect(url_of(central, "CP-2"), subprotocols=["ocpp2.0.1"]) as ws:
        client = ChargePoint201("CP-2", ws)
        task = asyncio.create_task(client.start())
        try:
            await client.call(call.StatusNotification(T0, "Occupied", evse_id=1, connector_id=1))
            known = await client.call(
                call.Authorize(id_token={"idToken": "TAG-1", "type": "ISO14443"})
            )
            unknown = await client.call(
                call.Authorize(id_token={"idToken": "NOPE", "type": "ISO14443"})
            )
        finally:
            task.cancel()
    assert known.id_token_info["status"] == "Accepted"
    assert unknown.id_token_info["status"] == "Invalid"
    (row,) = query(
        db_url,
        "SELECT connector_id, status FROM wattline.connectors WHERE charge_point_id = 'CP-2'",
    )
    assert (row["connector_id"], row["status"]) == (1, "Occupied")


async def test_bad_input_is_answered_in_the_2_0_1_spelling(central):
    async with websockets.connect(url_of(central, "CP-BAD"), subprotocols=["ocpp2.0.1"]) as ws:

        async def answer(frame: str) -> list:
            await ws.send(frame)
            return json.loads(await asyncio.wait_for(ws.recv(), 5))

        # Not JSON: FormatViolation (1.6 says FormationViolation).
        assert (await answer('[2,"a1","Heartbeat",{'))[:3] == [4, "a1", "FormatViolation"]
        # A required field missing: OccurrenceConstraintViolation (1.6: Occurence...).
        missing = await answer('[2,"a2","BootNotification",{"reason":"PowerUp"}]')
        assert missing[:3] == [4, "a2", "OccurrenceConstraintViolation"]
        # A CALL of the wrong shape: RpcFrameworkError (1.6: ProtocolError).
        assert (await answer('[2,"a3","Heartbeat"]'))[:3] == [4, "a3", "RpcFrameworkError"]
        # A message type OCPP-J has not: MessageTypeNotSupported.
        assert (await answer('[7,"a4","Heartbeat",{}]'))[:3] == [4, "a4", "MessageTypeNotSupported"]
        # An action 2.0.1 does not know: NotImplemented; one it knows but we do not serve:
        # NotSupported.
        assert (await answer('[2,"a5","Fly",{}]'))[:3] == [4, "a5", "NotImplemented"]
        served = await answer(
            '[2,"a6","ReservationStatusUpdate",{"reservationId":1,"reservationUpdateStatus":"Expired"}]'
        )
        assert served[:3] == [4, "a6", "NotSupported"]
        # And the connection is still served.
        assert (await answer('[2,"a7","Heartbeat",{}]'))[:2] == [3, "a7"]


async def test_notifications_are_answered_and_security_events_kept_once(central, db_url):
    async with websockets.connect(url_of(central, "CP-SEC"), subprotocols=["ocpp2.0.1"]) as ws:
        client = ChargePoint201("CP-SEC", ws)
        task = asyncio.create_task(client.start())
        try:
            event = call.SecurityEventNotification(
                type="FirmwareUpdated", timestamp=T0, tech_info="v2.1"
            )
            await client.call(event)
            await client.call(event)  # re-sent: kept once
            await client.call(call.FirmwareStatusNotification(status="Installed"))
            await client.call(call.LogStatusNotification(status="Idle"))
            await client.call(
                call.NotifyEvent(
                    generated_at=T0,
                    seq_no=0,
                    event_data=[
                        {
                            "eventId": 1,
                            "timestamp": T0,
                            "trigger": "Delta",
                            "actualValue": "Faulted",
                            "eventNotificationType": "HardWiredNotification",
                            "component": {"name": "Connector"},
                            "variable": {"name": "Problem"},
                        }
                    ],
                )
            )
            await client.call(call.NotifyReport(request_id=1, generated_at=T0, seq_no=0))
        finally:
            task.cancel()
    rows = query(
        db_url,
        "SELECT time, identity, event, details FROM wattline.security_events"
        " WHERE identity = 'CP-SEC'",
    )
    assert [(r["identity"], r["event"], r["details"]) for r in rows] == [
        ("CP-SEC", "FirmwareUpdated", {"tech_info": "v2.1"})
    ]
    assert rows[0]["time"].isoformat() == "2024-01-27T09:45:00+00:00"
    actions = query(
        db_url,
        "SELECT action, count(*) AS n FROM wattline.ocpp_messages"
        " WHERE charge_point_id = 'CP-SEC' AND direction = 'in' GROUP BY action ORDER BY action",
    )
    assert [(r["action"], r["n"]) for r in actions] == [
        ("FirmwareStatusNotification", 1),
        ("LogStatusNotification", 1),
        ("NotifyEvent", 1),
        ("NotifyReport", 1),
        ("SecurityEventNotification", 2),
    ]


async def test_a_2_0_1_station_meets_the_same_passwords(db_url, tmp_path):
    """Security profile 1 for 2.0.1: the handshake checks are the same as for 1.6."""
    execute(
        db_url,
        "INSERT INTO wattline.charge_points (id, password_hash) VALUES ('CP-P', %s)",
        [hash_password("s3cret-pass")],
    )
    config = replace(TEST_CONFIG, allow_unknown_chargers=False, spool_path=tmp_path / "s.jsonl")
    async with running(config, db_url) as central:
        v201 = {"subprotocols": ["ocpp2.0.1"]}
        for headers in ({}, _basic("CP-P", "guess")):
            with pytest.raises(InvalidStatus) as refused:
                async with websockets.connect(
                    url_of(central, "CP-P"), additional_headers=headers, **v201
                ):
                    pass
            assert refused.value.response.status_code == 401
        with pytest.raises(InvalidStatus) as refused:
            async with websockets.connect(url_of(central, "CP-STRANGER"), **v201):
                pass
        assert refused.value.response.status_code == 404
        right = _basic("CP-P", "s3cret-pass")
        async with websockets.connect(
            url_of(central, "CP-P"), additional_headers=right, **v201
        ) as ws:
            assert ws.subprotocol == "ocpp2.0.1"
            client = ChargePoint201("CP-P", ws)
            task = asyncio.create_task(client.start())
            try:
                assert (await client.call(call.Heartbeat())).current_time.endswith("Z")
            finally:
                task.cancel()


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def test_a_command_of_the_other_version_fails_with_a_reason(central):
    async with websockets.connect(url_of(central, "CP-CMD"), subprotocols=["ocpp2.0.1"]) as ws:
        client = ChargePoint201("CP-CMD", ws)
        task = asyncio.create_task(client.start())
        try:
            await client.call(call.Heartbeat())
            station = central.connected["CP-CMD"]
            with pytest.raises(ValueError, match="RemoteStartTransaction is not an OCPP 2.0.1"):
                await station.send_command("RemoteStartTransaction", {"idTag": "TAG-1"})
        finally:
            task.cancel()


async def test_2_0_1_statuses_count_as_1_6_ones_in_availability_and_faults(central, db_url):
    """2.0.1 has fewer connector states (Occupied for Preparing..Finishing): the reports that
    read statuses tell usable from down by Unavailable and Faulted, which both versions share."""
    async with websockets.connect(url_of(central, "CP-ST"), subprotocols=["ocpp2.0.1"]) as ws:
        client = ChargePoint201("CP-ST", ws)
        task = asyncio.create_task(client.start())
        try:
            for at, status in (("09:00", "Available"), ("09:15", "Occupied"),
                               ("09:45", "Faulted"), ("10:00", "Available")):  # fmt: skip
                stamp = f"2024-01-27T{at}:00Z"
                await client.call(call.StatusNotification(stamp, status, evse_id=1, connector_id=1))
        finally:
            task.cancel()
    lo = datetime(2024, 1, 27, 9, tzinfo=UTC)
    hi = datetime(2024, 1, 27, 10, tzinfo=UTC)
    with db.connect(db_url) as conn:
        (row,) = conn.execute(
            queries.get("charger_availability"), {"lo": lo, "hi": hi, "charge_point_ids": ["CP-ST"]}
        ).fetchall()
        # By hand: Available 15 min + Occupied 30 min up, Faulted 15 min down: 75.0 %.
        assert (row["up_s"], row["down_s"], str(row["availability_pct"])) == (2700, 900, "75.0")
        execute(
            db_url,
            "UPDATE wattline.connectors SET status = 'Faulted' WHERE charge_point_id = 'CP-ST'",
        )
        faulted = conn.execute(queries.get("dash_overview")).fetchone()["faulted"]
    assert faulted == 1
