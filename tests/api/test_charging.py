"""Charge points, connector meter status, sessions and vehicles over real HTTP, with seed 000's
figures computed here by hand from the seed's inputs (seed_charging.sql)."""

from __future__ import annotations

import asyncio
import csv
import io
from decimal import ROUND_HALF_UP, Decimal

import polars as pl
import pytest
from api_support import hs256, problem

from ingest.ocpp.presence import Presence
from sql import db

SEED = (__import__("pathlib").Path(__file__).parent / "seed_charging.sql").read_text()
V1 = "/api/v1"


def cents(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@pytest.fixture(scope="module")
def seeded(api):
    with db.connect(api.db_url, autocommit=True) as conn:
        conn.execute(SEED)
    return api


def test_charge_points_list_and_detail(seeded):
    body = seeded.json(f"{V1}/charge-points", "read")
    assert body["total"] == 2
    cp1 = body["items"][0]
    assert (cp1["chargePointId"], cp1["vendor"], cp1["connected"]) == ("CP-1", "ACME", False)
    assert [c["connectorId"] for c in cp1["connectors"]] == [1, 2, 3]
    assert cp1["connectors"][1]["status"] == "Charging"
    assert seeded.json(f"{V1}/charge-points/CP-2", "read")["lastSeenAt"] is None
    problem(seeded.get(f"{V1}/charge-points/NOPE", hs256("read")), 404)


def test_connected_is_whether_a_process_holds_the_connection(seeded):
    # A central system holds its charge points through ingest/ocpp/presence.py: the same class.
    async def hold_and_ask():
        presence = Presence(seeded.db_url)
        try:
            assert await presence.take("CP-2") is True
            held = await asyncio.to_thread(seeded.json, f"{V1}/charge-points/CP-2", "read")
            listed = await asyncio.to_thread(
                seeded.json, f"{V1}/charge-points?connected=true", "read"
            )
            return held["connected"], [c["chargePointId"] for c in listed["items"]]
        finally:
            await presence.close()  # the process "dies": its session's locks go with it

    assert asyncio.run(hold_and_ask()) == (True, ["CP-2"])
    assert seeded.json(f"{V1}/charge-points/CP-2", "read")["connected"] is False


def test_connector_meter_status_is_the_seed(seeded):
    s = seeded.json(f"{V1}/charge-points/CP-1/connectors/3/meter-status", "read")
    # 15.234 kWh now, 150 s ago ("2 minutes ago", 2-5 minutes: warning); since the start at
    # 5.123 kWh: 10.111 kWh, x 12.50 = 126.3875 -> 126.39; started 67 minutes ago: "1h 7m".
    assert (s["meterValue"], s["meterAge"], s["freshness"]) == (15.234, "2 minutes ago", "warning")
    assert 150 <= s["meterAgeSeconds"] < 180
    session = s["activeSession"]
    energy = Decimal("15.234") - Decimal("5.123")
    assert Decimal(str(session["energySinceStart"])) == energy == Decimal("10.111")
    assert Decimal(str(session["estimatedCost"])) == cents(energy * Decimal("12.50"))
    assert (session["transactionId"], session["duration"]) == (4, "1h 7m")
    idle = seeded.json(f"{V1}/charge-points/CP-2/connectors/1/meter-status", "read")
    assert (idle["freshness"], idle["meterValue"], idle["activeSession"]) == ("never", None, None)
    problem(seeded.get(f"{V1}/charge-points/CP-1/connectors/9/meter-status", hs256("read")), 404)


def _money(d: dict) -> tuple:
    return tuple(Decimal(str(d[k])) for k in ("cost", "tax", "total"))


def test_session_details_cost_flow(seeded):
    d = seeded.json(f"{V1}/sessions/1", "read")
    energy = Decimal("15.234") - Decimal("5.123")  # 10.111 kWh
    cost = cents(energy * Decimal("12.50"))  # 126.3875 -> 126.39
    tax = cents(cost * Decimal("0.18"))  # 22.7502 -> 22.75
    assert (cost, tax, cost + tax) == (Decimal("126.39"), Decimal("22.75"), Decimal("149.14"))
    assert Decimal(str(d["energyConsumption"]["totalEnergy"])) == energy
    assert _money(d["cost"]) == (cost, tax, cost + tax)
    assert (d["meterStart"], d["meterStop"], d["status"]) == (5.123, 15.234, "closed")
    assert d["dataSource"]["transactionUsed"] is True
    assert d["dataSource"]["endMeterEqualsStartMeter"] is False


def test_session_details_state_of_charge(seeded):
    d = seeded.json(f"{V1}/sessions/2", "read")
    energy, battery, km_per_kwh = Decimal("15.545"), Decimal(40), Decimal("4.5")
    hours = Decimal("1.25")  # 10:00 -> 11:15
    soc = (energy / battery * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    km = int((energy * km_per_kwh).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    speed = cents(energy / hours)
    efficiency = (speed / 22 * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    assert (soc, km, speed, efficiency) == (Decimal("38.9"), 70, Decimal("12.44"), Decimal("56.5"))
    s = d["stateOfCharge"]
    assert (Decimal(str(s["socChangePercentage"])), s["estimatedRangeAdded"]) == (soc, km)
    assert s["description"] == "Battery charged by 38.9% (~70 km range added)"
    p = d["chargingPerformance"]
    assert (Decimal(str(p["averageChargingSpeed"])), Decimal(str(p["chargingEfficiency"]))) == (
        speed,
        efficiency,
    )


def test_end_meter_equal_to_start_meter_is_flagged(seeded):
    d = seeded.json(f"{V1}/sessions/5", "read")
    assert d["energyConsumption"]["totalEnergy"] == 0
    assert d["dataSource"]["endMeterEqualsStartMeter"] is True
    assert d["dataSource"]["warning"].startswith("EndMeter = StartMeter")


def test_open_session_without_meter_values_falls_back_to_the_manual_reading(seeded):
    # Item 5: meterStart alone is no connector reading; the manual reading is then used.
    before = seeded.json(f"{V1}/sessions/3", "read")
    assert before["dataSource"]["endSource"] == "none"
    assert before["dataSource"]["connectorMeterUsed"] is False
    assert before["energyConsumption"]["totalEnergy"] is None
    path = f"{V1}/sessions/3/manual-meter-stop"
    problem(seeded.call("POST", path, hs256("read"), json={"meterStopKwh": 15.234}), 403)
    problem(seeded.call("POST", path, hs256("operate"), json={"meterStopKwh": 5.0}), 422)
    problem(seeded.call("POST", path, hs256("operate"), json={"meterStopKwh": "x"}), 422)
    problem(
        seeded.call(
            "POST",
            f"{V1}/sessions/99/manual-meter-stop",
            hs256("operate"),
            json={"meterStopKwh": 1},
        ),
        404,
    )
    r = seeded.call("POST", path, hs256("operate"), json={"meterStopKwh": 15.234})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["dataSource"]["manualReadingUsed"] is True
    assert d["dataSource"]["endSource"] == "manual"
    assert _money(d["cost"]) == (Decimal("126.39"), Decimal("22.75"), Decimal("149.14"))
    assert seeded.json(f"{V1}/sessions/3", "read")["energyConsumption"]["totalEnergy"] == 10.111


def test_session_list_filters_and_pages(seeded):
    def ids(query: str, *scopes: str, account=None) -> list[int]:
        body = seeded.json(f"{V1}/sessions{query}", *scopes or ("read",), account=account)
        return [s["transactionId"] for s in body["items"]]

    assert ids("") == [3, 4, 5, 2, 1]  # newest first
    assert ids("?charge_point=CP-1&open=false") == [2, 1]
    assert ids("?id_tag=TAG1") == [4, 1]
    assert ids("?from=2024-01-28T00:00:00Z&to=2024-01-30T00:00:00Z") == [5, 2]
    page = seeded.json(f"{V1}/sessions?page=2&page_size=2", "read")
    assert ([s["transactionId"] for s in page["items"]], page["total"]) == ([5, 2], 5)
    problem(
        seeded.get(
            f"{V1}/sessions?from=2024-02-01T00:00:00Z&to=2024-01-01T00:00:00Z", hs256("read")
        ),
        422,
    )
    problem(seeded.get(f"{V1}/sessions?from=yesterday", hs256("read")), 422)
    problem(seeded.get(f"{V1}/sessions/abc", hs256("read")), 422)
    problem(seeded.get(f"{V1}/sessions/0", hs256("read")), 422)


def test_self_tokens_see_their_own_sessions_only(seeded):
    def ids(account: str, query: str = "") -> list[int]:
        body = seeded.json(f"{V1}/sessions{query}", "self", account=account)
        return [s["transactionId"] for s in body["items"]]

    assert ids("acct-a") == [4, 2, 1]
    assert ids("acct-b") == [3]
    assert ids("acct-a", "?id_tag=TAGB") == []  # a filter cannot widen what a token sees
    problem(seeded.get(f"{V1}/sessions/3", hs256("self", account="acct-a")), 404)
    assert seeded.json(f"{V1}/sessions/3", "self", account="acct-b")["idTag"] == "TAGB"
    r = seeded.get(
        f"{V1}/sessions.csv?from=2024-01-01T00:00:00Z&to=2030-01-01T00:00:00Z",
        hs256("self", account="acct-b"),
    )
    assert [row["transaction_id"] for row in csv.DictReader(io.StringIO(r.text))] == ["3"]


def test_exports_are_the_cli_report(seeded):
    window = "from=2024-01-01T00:00:00Z&to=2024-02-01T00:00:00Z"
    r = seeded.get(f"{V1}/sessions.csv?{window}", hs256("read"))
    assert r.headers["content-type"].startswith("text/csv")
    rows = {row["transaction_id"]: row for row in csv.DictReader(io.StringIO(r.text))}
    assert set(rows) == {"1", "2", "5"}
    assert (rows["1"]["energy_kwh"], rows["1"]["total"], rows["1"]["end_source"]) == (
        "10.111",
        "149.14",
        "meter_stop",
    )
    r = seeded.get(f"{V1}/sessions.parquet?{window}", hs256("read"))
    frame = pl.read_parquet(io.BytesIO(r.content))
    assert frame.filter(pl.col("transaction_id") == 2)["soc_change_pct"].item() == Decimal("38.9")
    problem(seeded.get(f"{V1}/sessions.csv", hs256("read")), 422)  # a window is required


def test_vehicle_update_changes_the_session_figures(seeded):
    path = f"{V1}/vehicles/NOBODY"
    problem(seeded.call("PUT", path, hs256("read"), json={"batteryKwh": 50}), 403)
    problem(seeded.call("PUT", path, hs256("operate"), json={"batteryKwh": -1}), 422)
    problem(
        seeded.call("PUT", f"{V1}/vehicles/UNKNOWN", hs256("operate"), json={"batteryKwh": 50}), 404
    )
    # Another account's id tag is as unknown to a self token.
    problem(seeded.call("PUT", path, hs256("self", account="acct-a"), json={"batteryKwh": 50}), 404)
    r = seeded.call("PUT", path, hs256("operate"), json={"batteryKwh": 50, "kmPerKwh": 6})
    assert r.json() == {"idTag": "NOBODY", "batteryKwh": 50, "kmPerKwh": 6}
    # Session 5 charged nothing, so session 1's tag gets a car instead (through self, its owner).
    r = seeded.call(
        "PUT", f"{V1}/vehicles/TAG1", hs256("self", account="acct-a"), json={"batteryKwh": 40}
    )
    assert r.status_code == 200, r.text
    s = seeded.json(f"{V1}/sessions/1", "read")["stateOfCharge"]
    # 10.111 kWh of 40 kWh: 25.2775 -> 25.3 %; x 4.5 km/kWh (the default) = 45.4995 -> 45 km.
    assert (s["socChangePercentage"], s["estimatedRangeAdded"]) == (25.3, 45)
