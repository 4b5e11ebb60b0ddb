"""The charger simulator against a real central system, and the CLI's database commands."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from ocpp_support import eventually, execute, query

from ingest.ocpp.simulator import Fleet, FleetOptions
from wattline import cli
from wattline.demo_history import plan


@pytest.mark.parametrize("ocpp", ["1.6", "2.0.1"])
@pytest.mark.parametrize("drop_rate", [0, 0.3], ids=["steady", "dropping-links"])
async def test_simulated_chargers_charge_between_kwh_min_and_kwh_max(
    central, db_url, drop_rate, ocpp
):
    options = FleetOptions(
        ocpp=ocpp,
        count=3,
        url=f"ws://127.0.0.1:{central.port}/ocpp",
        kwh_min=1.0,
        kwh_max=2.0,
        interval_s=0.02,
        sessions=1,
        speed=7200,  # 0.04 simulated hours per MeterValues
        fault_rate=0,
        drop_rate=drop_rate,  # a dropped charger reconnects and finishes its session
        seed=7,
    )
    # Wall-clock timestamps, energy at 7200 times the rate: as fast as a 22 kW charger gets at
    # that speed, or the energy is held as suspect (migration 0018).
    for n in (1, 2, 3):
        execute(
            db_url,
            "INSERT INTO wattline.charge_points (id, max_power_kw) VALUES (%s, %s)",
            [f"SIM-{n:04d}", 22 * options.speed],
        )
    await asyncio.wait_for(Fleet(options).run(), 20)
    sessions = query(
        db_url,
        "SELECT charge_point_id, meter_stop_wh - meter_start_wh AS wh FROM wattline.transactions"
        " WHERE stopped_at IS NOT NULL ORDER BY 1",
    )
    assert [s["charge_point_id"] for s in sessions] == ["SIM-0001", "SIM-0002", "SIM-0003"]
    assert all(1000 <= s["wh"] <= 2000 for s in sessions), sessions
    for s in sessions:
        (energy,) = query(
            db_url,
            "SELECT sum(delta) AS wh FROM wattline.meter_values"
            " WHERE charge_point_id = %s AND measurand = 'Energy.Active.Import.Register'",
            [s["charge_point_id"]],
        )
        assert abs(energy["wh"] - s["wh"]) <= 1  # registers are sent rounded to whole Wh
    status = await eventually(
        lambda: query(db_url, "SELECT DISTINCT status FROM wattline.connectors")
    )
    assert status == [{"status": "Available"}]
    versions = query(db_url, "SELECT DISTINCT ocpp_version FROM wattline.charge_points")
    assert versions == [{"ocpp_version": ocpp}]
    if drop_rate:  # the links did drop: more boots than chargers
        boots = "SELECT count(*) AS n FROM wattline.ocpp_messages WHERE action = 'BootNotification'"
        await eventually(lambda: query(db_url, boots)[0]["n"] > 2 * 3)


def test_the_cli_adds_charge_points_id_tags_and_commands(db_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert cli.main(["charger", "add", "CP-CLI", "--password", "pw-123456"]) == 0
    assert cli.main(["idtag", "add", "FLEET", "--status", "Blocked"]) == 0
    assert cli.main(["idtag", "add", "TAG-9", "--parent", "FLEET"]) == 0
    assert cli.main(["idtag", "add", "TAG-X", "--expiry", "2025-01-01T00:00:00"]) == 2
    cmd = ["command", "CP-CLI", "Reset", '{"type": "Hard"}', "--wait", "0"]
    assert cli.main(cmd) == 0
    assert cli.main(["command", "CP-NOBODY", "Reset", '{"type": "Hard"}', "--wait", "0"]) == 2
    (cp,) = query(db_url, "SELECT password_hash, registration_status FROM wattline.charge_points")
    assert cp["password_hash"].startswith("$argon2id$") and "pw-123456" not in cp["password_hash"]
    assert cp["registration_status"] == "Accepted"
    tags = query(db_url, "SELECT id_tag, status, parent FROM wattline.id_tags ORDER BY id_tag")
    assert [(t["id_tag"], t["status"], t["parent"]) for t in tags] == [
        ("FLEET", "Blocked", None),
        ("TAG-9", "Accepted", "FLEET"),
    ]
    (command,) = query(db_url, "SELECT action, payload, status FROM wattline.commands")
    assert command == {"action": "Reset", "payload": {"type": "Hard"}, "status": "requested"}
    assert "time zone" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["ocpp", "--help"], ["simulate", "chargers", "--help"]])
def test_the_cli_has_the_ocpp_commands(argv, capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(argv)
    assert done.value.code == 0


async def test_virtual_clock_charges_in_the_past_without_waiting(central, db_url):
    """The demo's history fill: sessions two days ago, stamped from the simulator's clock."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    options = FleetOptions(
        count=2,
        url=f"ws://127.0.0.1:{central.port}/ocpp",
        kwh_min=5.0,
        kwh_max=10.0,
        interval_s=300,  # a MeterValues every 5 virtual minutes
        sessions=1,
        fault_rate=0,
        drop_rate=0,
        seed=3,
        start=start,
    )
    for n in (1, 2):
        execute(
            db_url,
            "INSERT INTO wattline.charge_points (id, max_power_kw) VALUES (%s, %s)",
            [f"SIM-{n:04d}", 22],
        )
    await asyncio.wait_for(Fleet(options).run(), 20)  # 300 s pauses: it never slept
    sessions = query(
        db_url,
        "SELECT started_at, stopped_at, meter_stop_wh - meter_start_wh AS wh"
        " FROM wattline.transactions ORDER BY charge_point_id",
    )
    assert len(sessions) == 2
    for s in sessions:
        assert start <= s["started_at"] < s["stopped_at"] < start + timedelta(hours=3)
        assert 5000 <= s["wh"] <= 10000


async def test_planned_history_gives_the_plans_sessions_and_energy(central, db_url):
    """The demo's fill runs demo_history.plan: its session count and energy, worked out up front."""
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
    names = ("SIM-0001", "SIM-0002")
    planned = plan(list(names), 2, end, seed=11)
    options = FleetOptions(
        count=2,
        url=f"ws://127.0.0.1:{central.port}/ocpp",
        kwh_min=5.0,
        kwh_max=30.0,
        interval_s=300,
        fault_rate=0,
        drop_rate=0,
        seed=3,
        start=end - timedelta(days=2),
        plan=tuple((p.charger, p.start, p.energy_wh / 1000) for p in planned),
    )
    for name in names:
        execute(
            db_url, "INSERT INTO wattline.charge_points (id, max_power_kw) VALUES (%s, 22)", [name]
        )
    await asyncio.wait_for(Fleet(options).run(), 30)
    (got,) = query(
        db_url,
        "SELECT count(*) AS n, sum(meter_stop_wh - meter_start_wh) AS wh,"
        " min(started_at) AS first FROM wattline.transactions WHERE stopped_at IS NOT NULL",
    )
    assert got["n"] == len(planned)
    # Registers go out rounded to whole Wh: at most 1 Wh per session either way.
    assert abs(got["wh"] - sum(p.energy_wh for p in planned)) <= len(planned)
