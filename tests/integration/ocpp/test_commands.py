"""Operator commands: a row in `commands` reaches the connected charge point through
LISTEN/NOTIFY, and its answer, CALLERROR or time-out is written back."""

from __future__ import annotations

import asyncio

from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action
from ocpp_support import charge_point, eventually, execute, finished_commands, query


class Wallbox(ChargePoint):
    @on(Action.reset)
    async def on_reset(self, type: str) -> call_result.Reset:
        return call_result.Reset(status="Accepted")

    @on(Action.get_configuration)
    async def on_get_configuration(self, **kwargs) -> call_result.GetConfiguration:
        return call_result.GetConfiguration(
            configuration_key=[{"key": "HeartbeatInterval", "readonly": False, "value": "300"}]
        )

    @on(Action.change_availability)
    async def on_change_availability(self, **kwargs) -> call_result.ChangeAvailability:
        await asyncio.sleep(60)  # never answers in time
        return call_result.ChangeAvailability(status="Accepted")


def _request(db_url: str, action: str, payload: str = "{}") -> None:
    execute(
        db_url,
        "INSERT INTO wattline.commands (charge_point_id, action, payload) VALUES ('CP-C', %s, %s)",
        [action, payload],
    )


async def test_commands_reach_the_charge_point_and_their_answers_are_stored(central, db_url):
    execute(db_url, "INSERT INTO wattline.charge_points (id) VALUES ('CP-C')")
    _request(db_url, "Reset", '{"type": "Soft"}')  # requested before the charge point connects
    await eventually(central.commands.listening.is_set)
    async with charge_point(central, "CP-C", Wallbox):
        (reset,) = await eventually(finished_commands(db_url, 1))
        assert (reset["status"], reset["response"]) == ("answered", {"status": "Accepted"})

        _request(db_url, "GetConfiguration", '{"key": ["HeartbeatInterval"]}')
        _request(db_url, "UnlockConnector", '{"connectorId": 1}')  # the charge point has no handler
        _request(db_url, "TriggerMessage", '{"requestedMessage": "Teapot"}')  # not in the schema
        _request(db_url, "ChangeAvailability", '{"connectorId": 0, "type": "Inoperative"}')
        done = await eventually(finished_commands(db_url, 5), timeout=8)

    config, unlock, trigger, availability = done[1:]
    assert config["status"] == "answered"
    assert config["response"]["configurationKey"] == [
        {"key": "HeartbeatInterval", "readonly": False, "value": "300"}
    ]
    assert (unlock["status"], unlock["error"].split(":")[0]) == ("failed", "NotImplemented")
    assert trigger["status"] == "failed" and "Teapot" in trigger["error"]
    assert availability["status"] == "timed_out"
    sent = query(
        db_url,
        "SELECT count(*) AS n FROM wattline.ocpp_messages WHERE direction = 'out'"
        " AND message_type = 2 AND action IN ('Reset', 'GetConfiguration')",
    )
    assert sent == [{"n": 2}]
