"""Operator commands through the API to a real central system and a real charge point, and
the admin routes, over real HTTP against a running `wattline api`."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
import websockets
from api_support import hs256, problem
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action

from ingest.ocpp.config import OcppConfig
from ingest.ocpp.server import CentralSystem

V1 = "/api/v1"


class Wallbox(ChargePoint):
    @on(Action.reset)
    async def on_reset(self, type: str) -> call_result.Reset:
        return call_result.Reset(status="Accepted")


async def _answered(api, command_id: int, token: str) -> dict:
    deadline = time.monotonic() + 15
    async with httpx.AsyncClient(base_url=api.url, timeout=10) as client:
        while time.monotonic() < deadline:
            r = await client.get(
                f"{V1}/commands/{command_id}", headers={"Authorization": f"Bearer {token}"}
            )
            if r.json()["status"] not in ("requested", "sent"):
                return r.json()
            await asyncio.sleep(0.1)
    raise AssertionError(f"command {command_id} still {r.json()['status']}")


async def test_a_command_reaches_the_charge_point_and_its_answer_comes_back(api, tmp_path):
    token = hs256("operate", subject="ops")
    config = OcppConfig(
        host="127.0.0.1",
        port=0,
        allow_unknown_chargers=True,
        spool_path=tmp_path / "spool.jsonl",
        command_timeout_s=5,
    )
    r = api.call("PUT", f"{V1}/admin/charge-points/CP-CMD", hs256("admin"), json={})
    assert r.status_code == 200, r.text
    system = CentralSystem(config, api.db_url)
    await system.start()
    try:
        url = f"ws://127.0.0.1:{system.port}/ocpp/CP-CMD"
        async with websockets.connect(url, subprotocols=["ocpp1.6"]) as ws:
            client = Wallbox("CP-CMD", ws)
            task = asyncio.create_task(client.start())
            async with httpx.AsyncClient(base_url=api.url, timeout=10) as http:
                auth = {"Authorization": f"Bearer {token}"}
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    listed = await http.get(f"{V1}/charge-points/CP-CMD", headers=auth)
                    if listed.status_code == 200 and listed.json()["connected"]:
                        break
                    await asyncio.sleep(0.1)
                assert listed.json()["connected"] is True, listed.text  # the system holds it
                r = await http.post(
                    f"{V1}/charge-points/CP-CMD/commands",
                    headers=auth,
                    json={"action": "Reset", "payload": {"type": "Soft"}},
                )
                assert r.status_code == 202, r.text
                assert (r.json()["status"], r.json()["requestedBy"]) == ("requested", "api:ops")
            done = await _answered(api, r.json()["id"], token)
            assert (done["status"], done["response"]) == ("answered", {"status": "Accepted"})
            task.cancel()
    finally:
        await system.stop()


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"action": "Explode", "payload": {}}, 422),
        ({"action": "Reset", "payload": [1, 2]}, 422),
        ({"payload": {}}, 422),
    ],
)
def test_bad_commands_are_refused(api, body, status):
    problem(
        api.call("POST", f"{V1}/charge-points/CP-CMD/commands", hs256("operate"), json=body), status
    )


def test_commands_for_unknown_things_are_404(api):
    r = api.call(
        "POST",
        f"{V1}/charge-points/NOPE/commands",
        hs256("operate"),
        json={"action": "Reset", "payload": {"type": "Hard"}},
    )
    problem(r, 404)
    problem(api.get(f"{V1}/commands/999999", hs256("operate")), 404)
    problem(api.get(f"{V1}/commands/1", hs256("read")), 403)


def _put(api, path: str, body: dict, status: int = 200) -> dict:
    r = api.call("PUT", f"{V1}/admin{path}", hs256("admin"), json=body)
    assert r.status_code == status, r.text
    return r.json()


def _items(api, path: str) -> dict:
    return {next(iter(i.values())): i for i in api.json(f"{V1}/admin{path}", "admin")["items"]}


def test_admin_accounts_charge_points_and_id_tags(api):
    problem(api.call("PUT", f"{V1}/admin/accounts/acct-x", hs256("operate"), json={}), 403)
    assert _put(api, "/accounts/acct-x", {"name": "X"})["name"] == "X"
    _put(api, "/charge-points/CP-ADM", {"password": "secret-pass-1", "securityProfile": 2})
    cp = _items(api, "/charge-points")["CP-ADM"]
    assert (cp["has_password"], cp["security_profile"], cp["registration_status"]) == (
        True,
        2,
        "Accepted",
    )
    problem(
        api.call(
            "PUT", f"{V1}/admin/charge-points/CP-NOPW", hs256("admin"), json={"securityProfile": 2}
        ),
        422,
    )  # profile 2 needs a password
    tag = _put(api, "/id-tags/TAG-X", {"status": "Blocked", "accountId": "acct-x"})
    assert (tag["status"], tag["account_id"]) == ("Blocked", "acct-x")
    _put(api, "/id-tags/TAG-Y", {"accountId": "acct-none"}, 409)
    _put(api, "/id-tags/TAG-Y", {"expiry": "2030-01-01T00:00:00"}, 422)  # no time zone
    _put(api, "/id-tags/TAG-Y", {"parent": "NO-PARENT"}, 409)
    accounts = _items(api, "/accounts")
    assert (accounts["acct-x"]["id_tags"], accounts["acct-x"]["meters"]) == (1, 0)


def test_admin_tariffs_with_time_of_use_bands(api):
    _put(api, "/charge-points/CP-TOU", {})
    body = {
        "energyRate": 12.5,
        "taxRate": 0.18,
        "currency": "INR",
        "bands": [{"from": "22:00", "to": "06:00", "energyRate": 8}],
        "connectors": [{"chargePointId": "CP-TOU", "connectorId": 1}],
    }
    saved = _put(api, "/tariffs/TOU", body)
    assert saved["bands"] == [{"from": "22:00", "to": "06:00", "energy_rate": 8.0}]
    assert saved["connectors"] == [{"chargePointId": "CP-TOU", "connectorId": 1}]
    cp = api.json(f"{V1}/charge-points/CP-TOU", "read")
    assert cp["connectors"][0]["tariffId"] == "TOU"
    _put(
        api,
        "/tariffs/BAD",
        body | {"bands": [{"from": "25:00", "to": "06:00", "energyRate": 8}]},
        422,
    )
    _put(
        api,
        "/tariffs/BAD",
        body | {"bands": [{"from": "06:00", "to": "06:00", "energyRate": 8}]},
        422,
    )
    _put(api, "/tariffs/BAD", body | {"currency": "rupees"}, 422)
    _put(
        api,
        "/tariffs/BAD",
        body | {"connectors": [{"chargePointId": "NOPE", "connectorId": 1}]},
        409,
    )
    assert "BAD" not in _items(api, "/tariffs")  # all or nothing


def test_admin_meter_registry_and_ownership(api):
    _put(api, "/accounts/acct-m", {})
    saved = _put(
        api,
        "/meters/MTR-9",
        {"kind": "prosumer", "dualRate": True, "timezone": "Asia/Kolkata", "accountId": "acct-m"},
    )
    registry = {m["serial"]: m for m in api.json(f"{V1}/admin/meters", "admin")["items"]}
    assert (registry["MTR-9"]["meter_id"], registry["MTR-9"]["timezone"]) == (
        saved["meterId"],
        "Asia/Kolkata",
    )
    detail = api.json(f"{V1}/meters/MTR-9", "self", account="acct-m")
    assert [r["element"] for r in detail["registers"]] == ["A", "B"]
    _put(api, "/meters/MTR-9", {"timezone": "Mars/Olympus"}, 422)
    _put(api, "/meters/MTR-9", {"accountId": "acct-none"}, 409)
    _put(api, "/meters/bad%20serial", {}, 422)
