"""Published meter messages arrive in the series tables and in meter_shadows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from mqtt_support import eventually

from sql import db, queries, rollups

T0 = datetime(2024, 1, 27, 9, 0, tzinfo=UTC)


def iso(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


async def test_readings_become_energy_per_element(ingest, publisher, serial, query, db_url):
    publisher.send(serial, "reading", {"ts": iso(0), "import_wh": 1000, "export_wh": 20})
    publisher.send(
        serial,
        "reading",
        [
            {"ts": iso(10), "import_wh": 1500, "export_wh": 20, "import_w": 3000},
            {"ts": iso(20), "import_wh": 1700, "export_wh": 50, "export_w": 180.5},
        ],
    )
    count = "SELECT count(*) FROM register_readings"
    await eventually(lambda: query(count) == [(3,)])
    with db.connect(db_url, autocommit=True) as conn:
        rollups.refresh(conn)
    # 1000 -> 1500 -> 1700 Wh import is 700 Wh; export 20 -> 20 -> 50 is 30 Wh.
    assert query("SELECT element, import_wh, export_wh, readings FROM meter_energy_hourly") == [
        ("SINGLE", 700, 30, 3)
    ]
    registers = "SELECT r.serial, g.element FROM meter_registry r JOIN meter_registers g ON true"
    assert query(registers) == [(serial, "SINGLE")]
    assert query("SELECT import_w, export_w FROM register_readings ORDER BY time") == [
        (None, None),
        (3000, None),
        (None, Decimal("180.5")),
    ]


async def test_dual_rate_meters_keep_a_series_per_element(ingest, publisher, serial, query):
    publisher.send(
        serial,
        "reading",
        [
            {"ts": iso(0), "element": "A", "import_wh": 100},
            {"ts": iso(0), "element": "B", "import_wh": 9000},
            {"ts": iso(30), "element": "A", "import_wh": 350},
            {"ts": iso(30), "element": "B", "import_wh": 9010},
        ],
    )
    sums = "SELECT element, sum(delta_import_wh) FROM register_readings GROUP BY 1 ORDER BY 1"
    assert await eventually(lambda: query(sums) == [("A", 250), ("B", 10)])


async def test_balance_health_and_events_reach_the_series_and_the_shadow(
    ingest, publisher, serial, query
):
    publisher.send(
        serial,
        "balance",
        [
            {"ts": iso(5), "balance": 12.50, "emergency_credit": 15},
            {"ts": iso(0), "balance": 13.10, "emergency_credit": 15},
        ],
    )
    publisher.send(
        serial, "health", {"ts": iso(5), "csq": 7, "clock_time_diff_seconds": 3, "voltage": 239.4}
    )
    publisher.send(serial, "event", {"ts": iso(6), "type": "top_up", "details": {"amount": 10}})
    shadow = (
        "SELECT balance, emergency_credit, balance_updated_at, csq, health, "
        "clock_time_diff_seconds, voltage, last_seen_at IS NOT NULL FROM meter_shadows"
    )
    expected = [
        (Decimal("12.50"), 15, T0 + timedelta(minutes=5), 7, "unhealthy", 3, Decimal("239.4"), True)
    ]
    await eventually(lambda: query(shadow) == expected)
    await eventually(lambda: query("SELECT count(*) FROM meter_event_log") == [(1,)])
    assert query("SELECT balance FROM meter_prepay_balance ORDER BY time") == [
        (Decimal("13.10"),),
        (Decimal("12.50"),),
    ]
    assert query("SELECT csq, clock_time_diff_seconds FROM meter_health") == [(7, 3)]
    assert query("SELECT event_type, severity, details FROM meter_event_log") == [
        ("top_up", "info", {"amount": 10})
    ]
    # A late message with an older balance goes into the history, not the shadow.
    publisher.send(serial, "balance", {"ts": iso(1), "balance": 13.00})
    await eventually(lambda: query("SELECT count(*) FROM meter_prepay_balance") == [(3,)])
    assert query("SELECT balance FROM meter_shadows") == [(Decimal("12.50"),)]


TARIFF = {
    "standing_charge": 0.5868,
    "unit_rate_element_a": 0.2843,
    "unit_rate_element_b": 0.15,
    "prepayment_ecredit_availability": 10.0,
    "prepayment_debt_recovery_rate": 0.25,
    "prepayment_emergency_credit": 15.0,
}


async def test_a_future_tariff_becomes_active_at_its_activation_time(
    ingest, publisher, serial, query
):
    now = datetime.now(UTC)

    def tariff(rate: float, activation: str) -> dict:
        return {**TARIFF, "unit_rate_element_a": rate, "activation_datetime": activation}

    def in_s(seconds: float) -> str:
        return (now + timedelta(seconds=seconds)).isoformat()

    rates = (
        "SELECT tariffs_active ->> 'unit_rate_element_a', tariffs_future ->> 'unit_rate_element_a'"
        " FROM meter_shadows"
    )
    active = tariff(0.2843, "2024-10-01T00:00:00Z")
    publisher.send(
        serial, "tariff", {"ts": in_s(0), "active": active, "future": tariff(0.31, in_s(1))}
    )
    await eventually(lambda: query(rates) == [("0.2843", "0.31")])
    assert query("SELECT tariffs_active FROM meter_shadows")[0][0] == {
        **TARIFF,
        "activation_datetime": "2024-10-01T00:00:00+00:00",
    }
    # Once due, the query a scheduler runs (for all meters) promotes it...
    await eventually(lambda: datetime.now(UTC) > now + timedelta(seconds=1.1), timeout=5)
    query(queries.get("promote_due_tariffs"), {"meter_id": None})
    assert query(rates) == [("0.31", None)]
    # ...and so does the meter's next message.
    publisher.send(serial, "tariff", {"ts": in_s(2), "future": tariff(0.32, in_s(2.5))})
    await eventually(lambda: query(rates) == [("0.31", "0.32")])
    await eventually(lambda: datetime.now(UTC) > now + timedelta(seconds=2.6), timeout=5)
    publisher.send(serial, "health", {"ts": in_s(3), "csq": 20, "clock_time_diff_seconds": 0})
    await eventually(lambda: query(rates) == [("0.32", None)])
    # A stale message with an older active tariff changes nothing.
    publisher.send(serial, "tariff", {"ts": in_s(0), "active": active})
    await eventually(lambda: query("SELECT health FROM meter_shadows") == [("healthy",)])
    publisher.send(serial, "event", {"ts": in_s(3), "type": "marker"})
    await eventually(lambda: query("SELECT count(*) FROM meter_event_log") == [(1,)])
    assert query(rates) == [("0.32", None)]
