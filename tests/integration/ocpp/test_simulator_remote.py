"""The simulator obeys the operator through the real central system: a RemoteStart starts a
session with the operator's id tag, a RemoteStop of that transaction stops it (reason Remote),
and what a charger cannot do is Rejected. And the seed simulators' connection flags work."""

from __future__ import annotations

import asyncio

import pytest
from ocpp_support import eventually, execute, query

from ingest.ocpp.simulator import Fleet, FleetOptions
from wattline import cli
from wattline.cli_ocpp import _simulator_target


async def _command(db_url: str, action: str, payload: str) -> dict:
    """Queue a command as `wattline command` does, and wait for the charger's answer."""
    assert cli.main(["command", "SIM-REMOTE", action, payload, "--wait", "0"]) == 0
    (row,) = query(db_url, "SELECT max(id) AS id FROM wattline.commands")
    done = "SELECT status, response FROM wattline.commands WHERE id = %s AND status = 'answered'"
    return (await eventually(lambda: query(db_url, done, [row["id"]]), timeout=10))[0]


async def test_remote_start_and_stop_drive_the_simulated_session(central, db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    options = FleetOptions(
        count=1,
        names=("SIM-REMOTE",),
        url=f"ws://127.0.0.1:{central.port}/ocpp",
        kwh_min=500.0,  # never reached: only the operator ends this session
        kwh_max=500.0,
        interval_s=0.05,
        speed=3600,  # an hour a second: ~1.1 kWh a MeterValues at 22 kW
        sessions=1,
        fault_rate=0,
        drop_rate=0,
        seed=3,
        auto_start=False,
    )
    execute(
        db_url, "INSERT INTO wattline.charge_points (id, max_power_kw) VALUES ('SIM-REMOTE', 22)"
    )
    fleet = asyncio.create_task(Fleet(options).run())
    try:
        await eventually(
            lambda: query(db_url, "SELECT 1 FROM wattline.connectors WHERE status = 'Available'")
        )
        await asyncio.sleep(0.3)
        assert query(db_url, "SELECT id FROM wattline.transactions") == []  # waits to be asked

        answer = await _command(db_url, "RemoteStopTransaction", '{"transactionId": 1}')
        assert answer["response"] == {"status": "Rejected"}  # nothing to stop yet
        answer = await _command(
            db_url, "RemoteStartTransaction", '{"connectorId": 1, "idTag": "TAG-OPERATOR"}'
        )
        assert answer["response"] == {"status": "Accepted"}
        started = "SELECT id, id_tag FROM wattline.transactions WHERE stopped_at IS NULL"
        (session,) = await eventually(lambda: query(db_url, started))
        assert session["id_tag"] == "TAG-OPERATOR"
        answer = await _command(
            db_url, "RemoteStartTransaction", '{"connectorId": 1, "idTag": "TAG-OTHER"}'
        )
        assert answer["response"] == {"status": "Rejected"}  # the connector is busy

        values = "SELECT count(*) AS n FROM wattline.meter_values WHERE transaction_id = %s"
        await eventually(lambda: query(db_url, values, [session["id"]])[0]["n"] > 0)
        payload = f'{{"transactionId": {session["id"]}}}'
        answer = await _command(db_url, "RemoteStopTransaction", payload)
        assert answer["response"] == {"status": "Accepted"}
        await asyncio.wait_for(fleet, 10)  # its one session is done
    finally:
        fleet.cancel()
    (stopped,) = query(
        db_url,
        "SELECT stop_reason, meter_stop_wh - meter_start_wh AS wh FROM wattline.transactions",
    )
    assert stopped["stop_reason"] == "Remote"
    assert 0 < stopped["wh"] < 500_000  # stopped by the operator, long before its target


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], ("ws://127.0.0.1:9000/ocpp", 5, ())),
        (["--url", "ws://cs:9100/ocpp", "--count", "2"], ("ws://cs:9100/ocpp", 2, ())),
        (
            ["--host", "10.0.0.5", "--ws-port", "9100", "--cp-path", "ocpp/CPX"],
            ("ws://10.0.0.5:9100/ocpp", 1, ("CPX",)),
        ),
        (
            ["--cp-path", "ocpp/CPX", "--count", "2"],
            ("ws://127.0.0.1:9000/ocpp", 2, ("CPX-0001", "CPX-0002")),
        ),
        (["--host", "cs", "--ws-port", "9100"], ("ws://cs:9100/ocpp", 5, ())),
    ],
)
def test_the_seed_simulators_connection_flags(argv, expected):
    args = cli.parser().parse_args(["simulate", "chargers", *argv])
    assert _simulator_target(args) == expected


@pytest.mark.parametrize(
    "argv", [["--url", "ws://a/ocpp", "--host", "b"], ["--cp-path", "CPX"]], ids=str
)
def test_conflicting_or_incomplete_flags_are_refused(argv, capsys):
    assert cli.main(["simulate", "chargers", *argv]) == 2
    assert "wattline simulate chargers:" in capsys.readouterr().err
