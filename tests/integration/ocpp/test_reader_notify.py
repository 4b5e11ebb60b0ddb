"""The read-only role (the dashboard, reporting tools) cannot make a charge point act: it may
not call pg_notify, and a NOTIFY it sends on the commands channel, however forged, only makes
the central system look for `requested` rows, which the reader cannot insert."""

from __future__ import annotations

import asyncio
import json

import psycopg
import pytest
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action
from ocpp_support import charge_point, eventually, execute, query

from dashboard.config import reader_dsn


class Wallbox(ChargePoint):
    resets: list[str]

    @on(Action.reset)
    async def on_reset(self, type: str) -> call_result.Reset:
        self.resets.append(type)
        return call_result.Reset(status="Accepted")


def _as_reader(db_url: str, sql: str) -> None:
    # Even outside its read-only default: the reader can always ask for a read-write transaction.
    with psycopg.connect(reader_dsn(db_url), autocommit=True) as conn:
        conn.execute("SET default_transaction_read_only = off")
        conn.execute(sql)


async def test_a_forged_notify_from_the_reader_reaches_no_charge_point(central, db_url):
    execute(db_url, "INSERT INTO wattline.charge_points (id) VALUES ('CP-N')")
    await eventually(central.commands.listening.is_set)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        _as_reader(db_url, "SELECT pg_notify('wattline_commands', 'CP-N')")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        _as_reader(db_url, "INSERT INTO wattline.commands (charge_point_id, action) "
                           "VALUES ('CP-N', 'Reset')")  # fmt: skip
    forged = json.dumps({"charge_point_id": "CP-N", "action": "Reset", "payload": {"type": "Hard"}})
    async with charge_point(central, "CP-N", Wallbox) as cp:
        cp.resets = []
        _as_reader(db_url, "NOTIFY wattline_commands, 'CP-N'")
        _as_reader(db_url, f"NOTIFY wattline_commands, '{forged}'")
        await asyncio.sleep(1.5)  # the central system has woken and found nothing to send
        assert cp.resets == []
        # The same channel from the writer's insert (its trigger) still reaches the charger.
        execute(
            db_url,
            "INSERT INTO wattline.commands (charge_point_id, action, payload, requested_by) "
            "VALUES ('CP-N', 'Reset', '{\"type\": \"Soft\"}', 'Asha Rao')",
        )
        await eventually(lambda: cp.resets == ["Soft"])
    sent = query(db_url, "SELECT count(*) AS n FROM wattline.commands WHERE status = 'answered'")
    assert sent == [{"n": 1}]
