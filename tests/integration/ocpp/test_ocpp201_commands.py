"""OCPP 2.0.1 operator commands: a row in `commands` (what the CLI, the API and the dashboard
write) reaches a 2.0.1 station in 2.0.1's messages, and its answer is stored; a 1.6 action or a
payload of the wrong shape fails with its reason, the other commands unharmed."""

from __future__ import annotations

import json

from ocpp_support import charge_point, eventually, execute, finished_commands

from dashboard import commands as dashboard_commands
from ingest.ocpp.admin import ACTIONS_2_0_1, request_command
from ingest.ocpp.sim_dialects import Station201


class Owner:
    """The simulated charger behind the station: one free EVSE, one running transaction."""

    def __init__(self) -> None:
        self.started: list[tuple[str, int | None]] = []
        self.stopped: list[str] = []

    def request_start(self, id_tag: str, connector_id: int | None) -> bool:
        self.started.append((id_tag, connector_id))
        return True

    def request_stop(self, transaction_id: str) -> bool:
        self.stopped.append(transaction_id)
        return transaction_id == "TX-RUNNING"


COMPONENT = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
COMMANDS = [
    ("RequestStartTransaction", dashboard_commands.payload(
        "Start", id_tag="TAG-9", connector_id=1, version="2.0.1")),
    ("RequestStopTransaction", dashboard_commands.payload(
        "Stop", transaction_id="TX-RUNNING", version="2.0.1")),
    ("Reset", dashboard_commands.payload("Reset", reset_type="Hard", version="2.0.1")),
    ("UnlockConnector", dashboard_commands.payload("Unlock", connector_id=1, version="2.0.1")),
    ("ChangeAvailability", {"operationalStatus": "Inoperative", "evse": {"id": 1}}),
    ("GetVariables", {"getVariableData": [COMPONENT]}),
    ("SetVariables", {"setVariableData": [COMPONENT | {"attributeValue": "60"}]}),
    ("TriggerMessage", dashboard_commands.payload(
        "Trigger", requested_message="MeterValues", connector_id=1, version="2.0.1")),
    ("GetBaseReport", {"requestId": 7, "reportBase": "FullInventory"}),
]  # fmt: skip


async def test_every_2_0_1_command_reaches_the_station_and_its_answer_is_stored(central, db_url):
    assert sorted(a for a, _ in COMMANDS) == sorted(ACTIONS_2_0_1)
    execute(db_url, "INSERT INTO wattline.charge_points (id) VALUES ('CP-V2')")
    owner = Owner()
    await eventually(central.commands.listening.is_set)

    def station(identity, connection):
        return Station201(identity, connection, owner)

    async with charge_point(central, "CP-V2", station, "ocpp2.0.1"):
        for action, payload in COMMANDS:
            request_command(db_url, "CP-V2", action, payload, "tester")
        # A 1.6 action, and a 2.0.1 one with a 1.6 payload: each fails with its reason.
        request_command(db_url, "CP-V2", "RemoteStartTransaction", {"idTag": "T"}, "tester")
        request_command(db_url, "CP-V2", "Reset", {"type": "Soft"}, "tester")
        rows = await eventually(finished_commands(db_url, len(COMMANDS) + 2), timeout=20)
    answered = {r["action"]: r["response"] for r in rows[: len(COMMANDS)]}
    assert [r["status"] for r in rows[: len(COMMANDS)]] == ["answered"] * len(COMMANDS)
    assert answered["RequestStartTransaction"] == {"status": "Accepted"}
    assert answered["RequestStopTransaction"] == {"status": "Accepted"}
    assert answered["Reset"] == {"status": "Accepted"}
    assert answered["UnlockConnector"] == {"status": "Unlocked"}
    assert answered["GetVariables"]["getVariableResult"][0]["attributeStatus"] == "UnknownVariable"
    assert answered["SetVariables"]["setVariableResult"][0]["attributeStatus"] == "Rejected"
    assert answered["GetBaseReport"] == {"status": "Accepted"}
    # The station got the dashboard's payloads as 2.0.1 means them.
    assert owner.started == [("TAG-9", 1)] and owner.stopped == ["TX-RUNNING"]
    wrong_version, wrong_shape = rows[len(COMMANDS) :]
    assert wrong_version["status"] == "failed"
    assert "not an OCPP 2.0.1 command" in wrong_version["error"]
    assert wrong_shape["status"] == "failed" and wrong_shape["error"]
    assert json.dumps(wrong_shape["error"])  # a reason, stored as text
