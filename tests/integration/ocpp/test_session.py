"""A whole charging session from the ocpp library's own ChargePoint, checked by hand."""

from __future__ import annotations

from decimal import Decimal

from ocpp.v16 import call
from ocpp.v16.enums import AuthorizationStatus, RegistrationStatus
from ocpp_support import charge_point, eventually, execute, query

T0 = "2024-01-27T09:45:00Z"
T_MID = "2024-01-27T10:15:00Z"
T_END = "2024-01-27T10:52:00Z"

METER_VALUES = call.MeterValues(
    connector_id=1,
    transaction_id=None,  # filled per test
    meter_value=[
        {
            "timestamp": T_MID,
            "sampledValue": [
                {"value": "9.000", "unit": "kWh"},  # Energy.Active.Import.Register by default
                {"value": "7.2", "measurand": "Power.Active.Import", "unit": "kW"},
                {"value": "32", "measurand": "Current.Import", "phase": "L1", "unit": "A"},
                {"value": "45", "measurand": "SoC", "location": "EV", "unit": "Percent"},
            ],
        }
    ],
)


async def test_a_whole_session_stores_the_energy_computed_by_hand(central, db_url):
    execute(db_url, "INSERT INTO wattline.id_tags (id_tag) VALUES ('TAG-1')")
    async with charge_point(central, "CP-1") as cp:
        boot = await cp.call(
            call.BootNotification(
                charge_point_model="Wallbox 22", charge_point_vendor="Acme", firmware_version="1.2"
            )
        )
        assert boot.status == RegistrationStatus.accepted
        await cp.call(call.StatusNotification(1, "NoError", "Available", timestamp=T0))
        auth = await cp.call(call.Authorize("TAG-1"))
        assert auth.id_tag_info["status"] == AuthorizationStatus.accepted
        start = await cp.call(call.StartTransaction(1, "TAG-1", 5123, T0))
        tx = start.transaction_id
        assert start.id_tag_info["status"] == AuthorizationStatus.accepted
        meter = METER_VALUES
        meter.transaction_id = tx
        await cp.call(meter)
        await cp.call(call.StopTransaction(15234, T_END, tx, reason="EVDisconnected"))

        # Re-sent: the same transactionId, and nothing counted twice.
        again = await cp.call(call.StartTransaction(1, "TAG-1", 5123, T0))
        assert again.transaction_id == tx
        await cp.call(meter)
        await cp.call(call.StopTransaction(15234, T_END, tx, reason="EVDisconnected"))

    (row,) = query(db_url, "SELECT * FROM wattline.transactions")
    assert (row["id"], row["meter_start_wh"], row["meter_stop_wh"]) == (tx, 5123, 15234)
    assert row["meter_stop_wh"] - row["meter_start_wh"] == 10111
    assert row["stop_reason"] == "EVDisconnected" and not row["orphan"]
    assert row["start_received_at"] is not None and row["stop_received_at"] is not None
    assert row["started_at"].isoformat() == "2024-01-27T09:45:00+00:00"

    (cp_row,) = query(db_url, "SELECT * FROM wattline.charge_points")
    assert (cp_row["vendor"], cp_row["model"], cp_row["firmware"]) == ("Acme", "Wallbox 22", "1.2")
    assert cp_row["registration_status"] == "Accepted"
    (connector,) = query(db_url, "SELECT * FROM wattline.connectors")
    assert (connector["connector_id"], connector["status"]) == (1, "Available")
    assert connector["last_meter_wh"] == 15234
    assert connector["last_meter_at"].isoformat() == "2024-01-27T10:52:00+00:00"

    values = query(
        db_url,
        "SELECT measurand, phase, location, context, unit, value, delta, transaction_id"
        "  FROM wattline.meter_values ORDER BY time, measurand",
    )
    assert [(v["measurand"], v["phase"], v["location"], v["unit"], v["value"]) for v in values] == [
        ("Energy.Active.Import.Register", "", "Outlet", "Wh", 5123),
        ("Current.Import", "L1", "Outlet", "A", 32),
        ("Energy.Active.Import.Register", "", "Outlet", "Wh", 9000),
        ("Power.Active.Import", "", "Outlet", "W", 7200),
        ("SoC", "", "EV", "Percent", 45),
        ("Energy.Active.Import.Register", "", "Outlet", "Wh", 15234),
    ]
    assert {v["transaction_id"] for v in values} == {tx}
    contexts = [v["context"] for v in values if v["measurand"].startswith("Energy")]
    assert contexts == ["Transaction.Begin", "Sample.Periodic", "Transaction.End"]
    # 9000 - 5123 = 3877, then 15234 - 9000 = 6234: 10111 Wh, as the rollups will sum it.
    assert sum(v["delta"] or 0 for v in values) == Decimal(10111)

    # 9 CALLs in, 9 CALLRESULTs out, each answer named after its CALL.
    frames = await eventually(
        lambda: (
            (
                r := query(
                    db_url, "SELECT direction, message_type, action FROM wattline.ocpp_messages"
                )
            )
            and len(r) == 18
            and r
        )
    )
    assert sum(1 for f in frames if (f["direction"], f["message_type"]) == ("in", 2)) == 9
    assert sum(1 for f in frames if (f["direction"], f["message_type"]) == ("out", 3)) == 9
    assert {f["action"] for f in frames} >= {"StartTransaction", "MeterValues", "StopTransaction"}
    assert None not in {f["action"] for f in frames}
