"""The energy comparison, settlement history, meter live and completeness pages through
AppTest against the seeded world (seed.sql) plus each test's own readings, with the figures
worked by hand."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from dashboard_app import APP
from streamlit.testing.v1 import AppTest

from sql import db, rollups

SITE_TZ = "Asia/Kolkata"  # UTC+05:30, no summer time


@pytest.fixture
def env(dashboard_env, monkeypatch):
    monkeypatch.setenv("WATTLINE_SITE_TZ", SITE_TZ)
    return dashboard_env


def _app(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.switch_page(f"app_pages/{page}").run()
    assert not at.exception, at.exception
    return at


def _values(v):
    """A Plotly array as JSON holds it: a list, or (Plotly 6) typed base64 data."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"]).tolist()
    return list(v)


def _figure(at: AppTest, i: int = 0) -> dict:
    return json.loads(at.get("plotly_chart")[i].proto.spec)


def _sign_in(at: AppTest) -> None:
    at.sidebar.text_input(key="operator_name").input("Asha Rao")
    at.sidebar.text_input[0].input("s3cret")
    at.sidebar.button[0].click().run()


def test_energy_comparison_shows_each_chosen_charger_per_hour(env):
    # Hour X, two hours ago: CP-A's connector 1 registers 0, 1000 and 3000 Wh over it (3.000
    # kWh), CP-B's 0 and 1500 Wh (1.500 kWh); CP-A also 500 Wh in the hour after.
    x = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    with db.connect(env, autocommit=True) as conn:
        conn.execute("INSERT INTO wattline.charge_points (id) VALUES ('CP-A'), ('CP-B')")
        rows = [
            ("CP-A", x + timedelta(minutes=10), 10000, 0),
            ("CP-A", x + timedelta(minutes=20), 11000, 1000),
            ("CP-A", x + timedelta(minutes=40), 13000, 2000),
            ("CP-A", x + timedelta(minutes=70), 13500, 500),
            ("CP-B", x + timedelta(minutes=15), 2000, 0),
            ("CP-B", x + timedelta(minutes=45), 3500, 1500),
        ]
        for cp, t, value, delta in rows:
            conn.execute(
                "INSERT INTO wattline.meter_values (time, charge_point_id, connector_id, unit,"
                " value, delta) VALUES (%s, %s, 1, 'Wh', %s, %s)",
                (t, cp, value, delta),
            )
        rollups.refresh(conn)
    at = _app("energy_compare.py")
    at.multiselect(key="cmp_chargers").set_value(["CP-A", "CP-B"]).run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"CP-A, total": "3.500 kWh", "CP-B, total": "1.500 kWh"}
    fig = _figure(at)
    bars = {t["name"]: dict(zip(t["x"], _values(t["y"]), strict=True)) for t in fig["data"]}
    local_x = (
        (x + timedelta(hours=5, minutes=30)).replace(tzinfo=None).isoformat(timespec="microseconds")
    )
    local_next = (
        (x + timedelta(hours=6, minutes=30)).replace(tzinfo=None).isoformat(timespec="microseconds")
    )
    assert bars == {"CP-A": {local_x: 3.0, local_next: 0.5}, "CP-B": {local_x: 1.5}}
    assert fig["layout"]["yaxis"]["title"]["text"] == "Energy (kWh)"
    assert fig["layout"]["xaxis"]["title"]["text"] == f"Hour starting ({SITE_TZ})"
    table = at.dataframe[0].value
    assert list(table.columns) == [
        f"Hour starting ({SITE_TZ})",
        "Charge point",
        "Energy (kWh)",
        "Readings",
    ]
    assert sorted(zip(table["Charge point"], table["Energy (kWh)"], strict=True)) == [
        ("CP-A", 0.5),
        ("CP-A", 3.0),
        ("CP-B", 1.5),
    ]
    assert any("Latest energy reading" in c.value for c in at.caption)


def test_energy_comparison_without_chargers_chosen_says_what_to_do(env):
    at = _app("energy_compare.py")
    at.multiselect(key="cmp_chargers").set_value([]).run()
    assert any("Choose one or more charge points" in i.value for i in at.info)
    assert not at.get("plotly_chart")


def test_settlement_history_colours_periods_by_status(env):
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
    periods = [
        (start, 0, 300, 300, "EXPORTING", 0.3),
        (start + timedelta(minutes=5), 200, 0, -200, "IMPORTING", -0.2),
        (start + timedelta(minutes=10), 10, 20, 10, "IDLE", 0.01),
        (start + timedelta(minutes=15), 0, 450, 450, "EXPORTING", 0.45),
    ]
    with db.connect(env, autocommit=True) as conn:
        for t, imp, exp, net, status, tokens in periods:
            conn.execute(
                "INSERT INTO wattline.settlement_periods (meter_id, period_start, period_end,"
                " import_wh, export_wh, net_wh, status, tokens) VALUES"
                " ('00000000-0000-0000-0000-0000000000e3', %s, %s, %s, %s, %s, %s, %s)",
                (t, t + timedelta(minutes=5), imp, exp, net, status, tokens),
            )
    at = _app("settlement_history.py")
    at.selectbox(key="settle_meter").select("SOLAR-0001").run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    # 300 - 200 + 10 + 450 = 560 Wh; 0.3 - 0.2 + 0.01 + 0.45 = 0.56 tokens.
    assert metrics["Periods"] == "4"
    assert metrics["Net energy (export − import)"] == "0.560 kWh"
    assert metrics["Tokens"] == "0.560"
    assert metrics["Exporting periods"] == "2"
    fig = _figure(at)
    by_status = {t["name"]: (_values(t["y"]), t["marker"]["color"]) for t in fig["data"]}
    assert by_status == {
        "EXPORTING": ([0.3, 0.45], "#2e7d32"),
        "IMPORTING": ([-0.2], "#c62828"),
        "IDLE": ([0.01], "#9e9e9e"),
    }
    table = at.dataframe[0].value
    assert table["Status"].tolist() == ["EXPORTING", "IDLE", "IMPORTING", "EXPORTING"]
    first = (start + timedelta(hours=5, minutes=30)).replace(tzinfo=None)
    assert table[f"Start ({SITE_TZ})"].iloc[-1].to_pydatetime() == first


def test_settlement_history_empty_state_names_the_command(env):
    at = _app("settlement_history.py")
    at.selectbox(key="settle_meter").select("LOW-0001").run()
    assert any("wattline settle LOW-0001" in i.value for i in at.info)


def test_meter_live_shows_todays_energy_and_power_now(env):
    # A meter in a zone where it is about noon now, so its local midnight is ~12 h ago: one
    # reading 13 h ago (yesterday there), two within the last 2 h.
    now = datetime.now(UTC)
    offset = 12 - now.hour  # hours east of UTC: local time about 12:xx
    zone = "Etc/GMT" + (f"{-offset:+d}" if offset else "")
    meter, register = "00000000-0000-0000-0000-0000000000a9", "00000000-0000-0000-0000-0000000000a8"
    with db.connect(env, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO wattline.meter_registry (id, serial, kind, timezone)"
            " VALUES (%s, 'LIVE-1', 'prosumer', %s)",
            (meter, zone),
        )
        conn.execute(
            "INSERT INTO wattline.meter_registers (register_id, meter_id, element)"
            " VALUES (%s, %s, 'SINGLE')",
            (register, meter),
        )
        for ago, imp, exp, imp_w, exp_w, d_imp, d_exp in [
            (timedelta(hours=13), 5000, 1000, 900, 0, 400, 0),
            (timedelta(hours=2), 5250, 1100, 300, 2000, 250, 100),
            (timedelta(hours=1), 6000, 1400, 1200, 400, 750, 300),
        ]:
            conn.execute(
                "INSERT INTO wattline.register_readings (time, register_id, meter_id, element,"
                " import_wh, export_wh, import_w, export_w, delta_import_wh, delta_export_wh)"
                " VALUES (%s, %s, %s, 'SINGLE', %s, %s, %s, %s, %s, %s)",
                (now - ago, register, meter, imp, exp, imp_w, exp_w, d_imp, d_exp),
            )
    at = _app("meter_live.py")
    at.selectbox(key="live_meter").select("LIVE-1").run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    # Today: 250 + 750 = 1000 Wh imported, 100 + 300 = 400 Wh exported, net -600 Wh. Power now
    # from the latest reading: 1200 W in, 400 W out, net -800 W.
    assert metrics == {
        "Import today": "1.000 kWh",
        "Export today": "0.400 kWh",
        "Net today (export − import)": "-0.600 kWh",
        "Import power": "1.200 kW",
        "Export power": "0.400 kW",
        "Net power (export − import)": "-0.800 kW",
    }
    assert any("Latest reading" in c.value for c in at.caption)


def test_meter_live_without_readings_says_what_to_do(env):
    at = _app("meter_live.py")
    at.selectbox(key="live_meter").select("LOW-0001").run()
    assert any("No readings from LOW-0001 yet" in i.value for i in at.info)


def _new_charger(url: str) -> datetime:
    """CP-NEW, first seen at 00:00 UTC two days ago, sending its register every minute of that
    whole day (1440 samples) and nothing since. Returns that day."""
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=2)
    with db.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO wattline.charge_points (id, first_seen_at) VALUES ('CP-NEW', %s)", (day,)
        )
        conn.execute(
            "INSERT INTO wattline.meter_values (time, charge_point_id, connector_id, unit, value)"
            " SELECT %s::timestamptz + n * interval '1 minute', 'CP-NEW', 1, 'Wh', n"
            "   FROM generate_series(0, 1439) n",
            (day,),
        )
    return day


def test_completeness_heatmap_starts_at_the_first_seen_day(env):
    day = _new_charger(env)
    at = _app("completeness.py")
    fig = _figure(at)
    heat = fig["data"][0]
    cells = dict(zip(heat["y"], heat["z"], strict=True))
    # The last 7 days touch 8 UTC days; CP-NEW has no cell on the 5 before it was first seen,
    # 100 % on its first day (1440 of 1440) and 0 % on the one after and today.
    days = heat["x"]
    assert len(days) == 8 and days[5] == day.date().isoformat()
    row = cells["CP-NEW:1"]
    assert row[:5] == [None] * 5
    assert row[5:7] == [100.0, 0.0] and row[7] == 0.0
    assert fig["layout"]["xaxis"]["title"]["text"] == "Day (UTC)"


def test_trigger_meter_values_for_an_online_charger_and_not_an_offline_one(env):
    _new_charger(env)
    # CP-NEW is online: this connection holds its presence lock, as a central system does
    # (0025); CP-1 (which also sent meter values) is not.
    with db.connect(env, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(wattline.charge_point_lock_key('CP-NEW'))")
        at = _app("completeness.py")
        assert at.button(key="trigger_CP-NEW").disabled  # not signed in yet
        _sign_in(at)
        assert not at.button(key="trigger_CP-NEW").disabled
        offline = at.button(key="trigger_CP-1")
        assert offline.disabled and "offline" in offline.help
        at.button(key="trigger_CP-NEW").click().run()
        assert not at.exception, at.exception
        assert any("Asked CP-NEW for meter values" in s.value for s in at.success)
        # Drawn while online, clicked after the central system let go: refused.
        at.run()
        holder.execute("SELECT pg_advisory_unlock_all()")
        at.button(key="trigger_CP-NEW").click().run()
        assert any("CP-NEW is offline now" in e.value for e in at.error)
    with db.connect(env) as conn:
        rows = conn.execute(
            "SELECT charge_point_id, action, payload, requested_by FROM wattline.commands"
            " WHERE action = 'TriggerMessage' ORDER BY id"
        ).fetchall()
    assert rows == [
        {
            "charge_point_id": "CP-NEW",
            "action": "TriggerMessage",
            "payload": {"requestedMessage": "MeterValues", "connectorId": 1},
            "requested_by": "Asha Rao",
        }
    ]
