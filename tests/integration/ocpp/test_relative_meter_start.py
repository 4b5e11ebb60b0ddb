"""A charger that reports session-relative meterStart and meterStop next to lifetime MeterValues
(migration 0018): through the real central system, the session energy (SQL view and Polars
report) and the connector rollups come out as computed by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from ocpp.v16 import call
from ocpp_support import charge_point, execute, query

from analytics import session_report_job
from sql import db, rollups


def register(ts: str, wh: int, transaction_id: int | None = None) -> call.MeterValues:
    return call.MeterValues(
        connector_id=1,
        transaction_id=transaction_id,
        meter_value=[{"timestamp": ts, "sampledValue": [{"value": str(wh)}]}],
    )


def energy_kwh(db_url: str) -> dict[int, tuple[str, Decimal, Decimal]]:
    """Per transaction: (end source, energy) from the view, checked equal to the Polars report,
    and the report's time-of-use cost."""
    view = {
        r["transaction_id"]: (r["end_source"], r["energy_kwh"])
        for r in query(db_url, "SELECT * FROM wattline.session_report")
    }
    with db.connect(db_url, autocommit=True) as conn:
        report = session_report_job.sessions(
            conn, datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)
        )
    rows = list(report.iter_rows(named=True))
    assert {r["transaction_id"]: (r["end_source"], r["energy_kwh"]) for r in rows} == view
    assert all(r["time_of_use"] for r in rows)
    return {r["transaction_id"]: (*view[r["transaction_id"]], r["cost"]) for r in rows}


async def test_relative_meter_start_and_stop_next_to_lifetime_meter_values(central, db_url):
    execute(db_url, "INSERT INTO wattline.id_tags (id_tag) VALUES ('TAG-R')")
    # 10 a kWh, 20 from 09:12 to 10:00 (UTC): each reading's energy at the band of its time.
    execute(
        db_url,
        "INSERT INTO wattline.tariffs (id, energy_rate, bands) VALUES ('TOU', 10,"
        """ '[{"from": "09:12", "to": "10:00", "energy_rate": 20}]');"""
        " INSERT INTO wattline.charge_points (id) VALUES ('CP-REL');"
        " INSERT INTO wattline.connectors (charge_point_id, connector_id, tariff_id)"
        " VALUES ('CP-REL', 1, 'TOU')",
    )
    async with charge_point(central, "CP-REL") as cp:
        await cp.call(call.BootNotification(charge_point_model="M", charge_point_vendor="V"))
        await cp.call(register("2024-02-01T09:00:00Z", 1_234_000))  # lifetime, no session
        start = await cp.call(call.StartTransaction(1, "TAG-R", 0, "2024-02-01T09:10:00Z"))
        tx1 = start.transaction_id
        await cp.call(register("2024-02-01T09:11:00Z", 1_234_100, tx1))
        await cp.call(register("2024-02-01T09:12:00Z", 1_234_400, tx1))

        # Open, so its end is the connector's register: 1,234,400 - 0 would be 1,234.4 kWh;
        # meterStart 0 is a drop from 1,234,000, so 09:11 counts 100 and 09:12 300. Cost:
        # 0.1 kWh * 10 + 0.3 kWh * 20 = 7.00.
        assert energy_kwh(db_url) == {
            tx1: ("connector_register", Decimal("0.400"), Decimal("7.00"))
        }
        (live,) = query(db_url, "SELECT * FROM wattline.connector_meter_status")
        assert live["energy_since_start_kwh"] == Decimal("0.400")

        await cp.call(call.StopTransaction(450, "2024-02-01T09:13:00Z", tx1))
        start = await cp.call(call.StartTransaction(1, "TAG-R", 0, "2024-02-01T09:20:00Z"))
        tx2 = start.transaction_id
        await cp.call(register("2024-02-01T09:21:00Z", 1_234_500, tx2))

    # tx1: meterStop - meterStart, both session-relative: 450 Wh. Its time-of-use split comes
    # from the stored deltas, 100 Wh at 10 (09:11) and 300 Wh at 20 (09:12), scaled to the
    # 450 Wh: 112.5 Wh at 10 + 337.5 Wh at 20 = 1.125 + 6.75 = 7.875 -> 7.88 (a chain of raw
    # values would price 0 -> 1,234,100 as 1,234,100 Wh: 12,347.00).
    # tx2 (open): 1,234,500 against 1,234,400 (its meterStart 0 and tx1's meterStop 450 are
    # drops from it): 100 Wh, the 50 Wh tx1 drew after its last lifetime reading among them;
    # at 20: 2.00.
    assert energy_kwh(db_url) == {
        tx1: ("meter_stop", Decimal("0.450"), Decimal("7.88")),
        tx2: ("connector_register", Decimal("0.100"), Decimal("2.00")),
    }
    stored = query(
        db_url,
        "SELECT to_char(time, 'HH24:MI') AS at, value, delta, reference, quality"
        "  FROM wattline.meter_values ORDER BY time",
    )
    assert [(r["at"], r["value"], r["delta"], r["reference"], r["quality"]) for r in stored] == [
        ("09:00", 1_234_000, 0, None, "ok"),
        ("09:10", 0, 0, 1_234_000, "reset"),  # meterStart
        ("09:11", 1_234_100, 100, None, "ok"),
        ("09:12", 1_234_400, 300, None, "ok"),
        ("09:13", 450, 0, 1_234_400, "reset"),  # meterStop
        ("09:20", 0, 0, 1_234_400, "reset"),  # meterStart
        ("09:21", 1_234_500, 100, None, "ok"),
    ]
    # The connector drew 1,234,500 - 1,234,000 = 500 Wh, all in the 09:00 hour.
    with db.connect(db_url, autocommit=True) as conn:
        rollups.refresh(conn)
        for table in ("connector_energy_hourly", "connector_energy_daily"):
            rows = conn.execute(
                f"SELECT bucket, energy_wh FROM wattline.{table} WHERE charge_point_id = 'CP-REL'"
            ).fetchall()
            assert [r["energy_wh"] for r in rows] == [500], table
