"""One price per session on every surface: a session on a time-of-use tariff, across a band
boundary, costs the same in the API's details, the CLI's report and the dashboard's Reports,
Chargers and Estimator pages, because all of them run analytics/session_report_job.py.

By hand. Tariff TOU-T: 10.00 INR/kWh, 20.00 from 18:00 to 22:00 (the charge point's UTC), 18 %
tax. Each delta belongs to the band at its reading (as in the rollups):
  17:00 meterStart 1,000 Wh; 17:30 3,000 (+2,000, flat); 18:00 4,000 (+1,000, band);
  18:30 8,000 (+4,000, band); 19:00 10,000 (+2,000, band) = meterStop.
  flat 2.000 kWh x 10.00 = 20.00; band 7.000 kWh x 20.00 = 140.00; cost 160.00,
  tax 28.80, total 188.80 for 9.000 kWh. (A flat 10.00 for all 9 kWh would be 90.00 + 16.20.)
The open session 2 on the same connector's tariff, started at 21:30 the same day: 500 Wh at
21:45 (band) and 900 Wh more at 22:15 (flat) -> 10.00 + 9.00 = 19.00, tax 3.42, total 22.42."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import streamlit as st
from api_support import hs256
from streamlit.testing.v1 import AppTest

from sql import db

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "dashboard/streamlit_app.py")
DAY = (datetime.now(UTC) - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
CLOSED = [(17, 0, 1000, 0), (17, 30, 3000, 2000), (18, 0, 4000, 1000), (18, 30, 8000, 4000),
          (19, 0, 10000, 2000)]  # fmt: skip
OPEN = [(21, 30, 20000, 0), (21, 45, 20500, 500), (22, 15, 21400, 900)]


def _d(x) -> Decimal:
    return Decimal(str(x))


def _at(hour: int, minute: int) -> datetime:
    return DAY + timedelta(hours=hour, minutes=minute)


@pytest.fixture(scope="module")
def tou(api):
    with db.connect(api.db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO wattline.tariffs (id, currency, energy_rate, tax_rate, bands) VALUES "
            "('TOU-T', 'INR', 10.00, 0.18, "
            """'[{"from": "18:00", "to": "22:00", "energy_rate": 20.00}]')"""
        )
        conn.execute(
            "INSERT INTO wattline.charge_points (id, registration_status, last_seen_at) "
            "VALUES ('CP-TOU', 'Accepted', now())"
        )
        conn.execute(
            "INSERT INTO wattline.connectors (charge_point_id, connector_id, status, tariff_id,"
            " last_meter_wh, last_meter_at) VALUES ('CP-TOU', 1, 'Charging', 'TOU-T', %s, %s)",
            (OPEN[-1][2], _at(*OPEN[-1][:2])),
        )
        conn.execute(
            "INSERT INTO wattline.transactions (id, charge_point_id, connector_id, id_tag,"
            " meter_start_wh, started_at, meter_stop_wh, stopped_at) OVERRIDING SYSTEM VALUE"
            " VALUES (901, 'CP-TOU', 1, 'TAG-T', 1000, %s, 10000, %s),"
            "        (902, 'CP-TOU', 1, 'TAG-T', 20000, %s, NULL, NULL)",
            (_at(17, 0), _at(19, 0), _at(21, 30)),
        )
        for tx, readings in ((901, CLOSED), (902, OPEN)):
            for hour, minute, value, delta in readings:
                conn.execute(
                    "INSERT INTO wattline.meter_values (time, charge_point_id, connector_id,"
                    " transaction_id, measurand, unit, value, delta) VALUES"
                    " (%s, 'CP-TOU', 1, %s, 'Energy.Active.Import.Register', 'Wh', %s, %s)",
                    (_at(hour, minute), tx, value, delta),
                )
    return api


def test_the_api_prices_both_sessions_by_band(tou):
    closed = tou.json("/api/v1/sessions/901", "read")
    assert _d(closed["energyConsumption"]["totalEnergy"]) == Decimal("9.000")
    money = closed["cost"]
    assert (_d(money["cost"]), _d(money["tax"]), _d(money["total"])) == (
        Decimal("160.00"),
        Decimal("28.80"),
        Decimal("188.80"),
    )
    assert closed["cost"]["timeOfUse"] is True
    page = tou.json("/api/v1/sessions", "read", params={"charge_point": "CP-TOU"})
    assert [(s["transactionId"], _d(s["total"])) for s in page["items"]] == [
        (902, Decimal("22.42")),
        (901, Decimal("188.80")),
    ]
    status = tou.json("/api/v1/charge-points/CP-TOU/connectors/1/meter-status", "read")
    live = status["activeSession"]
    assert (live["transactionId"], _d(live["energySinceStart"])) == (902, Decimal("1.400"))
    assert (_d(live["estimatedCost"]), _d(live["estimatedTotal"])) == (
        Decimal("19.00"),
        Decimal("22.42"),
    )


def test_the_cli_report_prices_by_band(tou):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATTLINE_")}
    env["DATABASE_URL"] = tou.db_url
    out = subprocess.run(
        [sys.executable, "-m", "wattline.cli", "report", "sessions",
         "--from", DAY.isoformat(), "--to", (DAY + timedelta(days=1)).isoformat()],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    rows = {r["transaction_id"]: r for r in csv.DictReader(io.StringIO(out))}
    assert (rows["901"]["cost"], rows["901"]["tax"], rows["901"]["total"]) == (
        "160.00",
        "28.80",
        "188.80",
    )
    assert rows["902"]["total"] == "22.42"


@pytest.fixture
def dashboard(tou, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", tou.db_url)
    monkeypatch.delenv("WATTLINE_OPERATOR_PASSWORD", raising=False)
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def _page(name: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page(f"app_pages/{name}").run()
    assert not at.exception, at.exception
    return at


def _sessions(at: AppTest):
    """The page's session table (headed by its labels), by session id; an empty table is a
    sentence, so its position on the page varies."""
    tables = [
        d.value for d in at.dataframe if {"Session", "Total with tax"} <= set(d.value.columns)
    ]
    assert len(tables) == 1, [list(d.value.columns) for d in at.dataframe]
    return tables[0].set_index("Session")


def test_the_dashboard_shows_the_same_money(dashboard):
    reports = _page("reports.py")
    sessions = _sessions(reports)
    assert str(sessions.loc[901, "Total with tax"]) == "188.80"
    assert str(sessions.loc[901, "Cost"]) == "160.00"
    assert str(sessions.loc[902, "Total with tax"]) == "22.42"

    estimator = _page("estimator.py")
    metrics = {m.label: m.value for m in estimator.metric}
    assert metrics["Energy"] == "1.400 kWh"
    assert metrics["Cost with tax"] == "22.42 INR"

    chargers = _page("chargers.py")
    chargers.selectbox(key="cp").select("CP-TOU").run()
    chargers.radio(key="tx_range").set_value("Last 7 days").run()
    assert not chargers.exception, chargers.exception
    text = "\n".join(m.value for m in chargers.markdown)
    assert "session 902: 1.400 kWh" in text
    assert str(_sessions(chargers).loc[901, "Total with tax"]) == "188.80"


def test_a_self_token_for_nobody_sees_no_session(tou):
    # The session list is the same code for a self token: no account owns TAG-T.
    r = tou.get("/api/v1/sessions", hs256("self", account="ACC-NONE"))
    assert r.status_code == 200 and r.json()["items"] == []
