"""Every page through AppTest against a seeded database (seed.sql): the numbers and elements a
user would look for, and no exception."""

from __future__ import annotations

from dashboard_app import APP
from streamlit.testing.v1 import AppTest

from sql import db


def _app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30).run()
    if page:
        at.switch_page(f"app_pages/{page}").run()
    assert not at.exception, at.exception
    return at


def _text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [f"{m.label}={m.value}" for m in at.metric]
    parts += [df.value.to_csv() for df in at.dataframe]
    return "\n".join(str(p) for p in parts)


def test_the_overview_lands_first_with_the_fleet_figures(dashboard_env):
    at = _app()
    metrics = {m.label: m.value for m in at.metric}
    # seed.sql: CP-1 and CP-2, nobody connected to a central system, session 2 open on CP-1#2,
    # CP-2#1 Faulted; session 1's twelve readings 3 h ago: 11 x 842.583 Wh = 9.268 kWh, and
    # session 2's 3.000 kWh so far: 12.268 kWh.
    assert metrics["Charge points"] == "2" and metrics["Connected now"] == "0"
    assert metrics["Charging now"] == "1" and metrics["Faulted connectors"] == "1"
    assert metrics["Energy delivered, last 24 hours"] == "12.268 kWh"
    # LOW-0001 at 4.37 is low and last seen 2 h ago (offline after 60 min); SOLAR-0001 is fine.
    assert (metrics["Meters"], metrics["Low balance"], metrics["Offline"]) == ("2", "1", "1")
    assert metrics["Open alerts"] == "0"


def test_chargers_page_shows_cards_sessions_log_and_commands(dashboard_env):
    at = _app("chargers.py")
    text = _text(at)
    assert "### CP-1" in text and "### CP-2" in text
    assert (
        ":green[:material/circle:] **#2** Charging · 7.000 kWh register · session 2: 3.000 kWh"
        in text
    )
    assert ":orange[:material/warning:] GroundFailure" in text
    # Session 1 in the default last-24-hours range: 10.111 kWh for 149.14 INR.
    sessions = at.dataframe[2].value
    one = sessions[sessions["Session"] == 1].iloc[0]
    assert str(one["Energy (kWh)"]) == "10.111" and str(one["Total with tax"]) == "149.14"
    assert "2 session(s) started in this range" in text
    # The live connector table carries the session's figures from the report, with no join key
    # left over (it once showed a "transaction_id_right" column).
    live = next(d.value for d in at.dataframe if "Session energy (kWh)" in d.value.columns)
    assert not [c for c in live.columns if "right" in c.lower()]
    two = live[live["Session"] == 2].iloc[0]
    assert str(two["Session energy (kWh)"]) == "3.000"
    assert "BootNotification" in text  # the OCPP log
    commands = at.dataframe[-1].value
    assert commands[["Action", "Status", "Response"]].values.tolist() == [
        ["Reset", "answered", '{"status": "Accepted"}']
    ]
    assert any("Sign in as operator" in i.value for i in at.info)
    assert len(at.get("plotly_chart")) == 2


def test_an_operator_signs_in_and_sends_a_reset(dashboard_env):
    at = _app("chargers.py")
    at.sidebar.text_input(key="operator_name").input("Asha Rao")
    at.sidebar.text_input[0].input("wrong")
    at.sidebar.button[0].click().run()
    assert any("Wrong password" in e.value for e in at.sidebar.error)
    at.sidebar.text_input[0].input("s3cret")
    at.sidebar.button[0].click().run()
    assert any("Signed in as operator Asha Rao" in s.value for s in at.sidebar.success)
    at.selectbox(key="cmd_label").select("Reset")
    at.selectbox(key="cmd_reset").select("Hard")
    submit = [b for b in at.get("button") if getattr(b, "label", "") == "Send"]
    submit[0].click().run()
    assert not at.exception, at.exception
    assert any("Reset" in s.value for s in at.success)
    with db.connect(dashboard_env) as conn:
        row = conn.execute(
            "SELECT charge_point_id, action, payload, requested_by FROM commands "
            "ORDER BY id DESC LIMIT 1"
        ).fetchone()
    assert row == {
        "charge_point_id": "CP-1",
        "action": "Reset",
        "payload": {"type": "Hard"},
        "requested_by": "Asha Rao",
    }


def test_stop_carries_the_id_the_charger_knows_its_transaction_by(dashboard_env):
    # Session 2 began offline and its id collided, so the central system renumbered it and keeps
    # the charger's own id 9: the charger can only stop "9".
    with db.connect(dashboard_env, autocommit=True) as conn:
        conn.execute("UPDATE wattline.transactions SET charger_transaction_id = 9 WHERE id = 2")
    at = _app("chargers.py")
    at.sidebar.text_input(key="operator_name").input("Asha Rao")
    at.sidebar.text_input[0].input("s3cret")
    at.sidebar.button[0].click().run()
    at.selectbox(key="cmd_label").select("Stop")
    at.number_input(key="cmd_connector").set_value(2)
    submit = [b for b in at.get("button") if getattr(b, "label", "") == "Send"]
    submit[0].click().run()
    assert not at.exception, at.exception
    with db.connect(dashboard_env) as conn:
        row = conn.execute(
            "SELECT action, payload FROM commands ORDER BY id DESC LIMIT 1"
        ).fetchone()
    assert row == {"action": "RemoteStopTransaction", "payload": {"transactionId": 9}}


def test_without_an_operator_password_commands_are_disabled(dashboard_env, monkeypatch):
    monkeypatch.delenv("WATTLINE_OPERATOR_PASSWORD")
    at = _app()
    assert any("Operator commands are disabled" in i.value for i in at.sidebar.info)
    assert not at.sidebar.text_input


def test_meter_health_page_flags_low_balance_offline_signal_and_tariffs(dashboard_env):
    at = _app("meter_health.py")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {
        "Low balance": "1",
        "Offline (> 1 h)": "1",
        "Poor signal (CSQ < 10)": "1",
        "Clock drift > 60 s": "1",
    }
    low = at.dataframe[0].value
    assert low["Meter"].tolist() == ["LOW-0001"] and str(low["Balance"][0]) == "4.37"
    health = at.dataframe[2].value.set_index("Meter")
    assert health.loc["LOW-0001", "Clock drift (s)"] == 125
    assert health.loc["SOLAR-0001", "Reading freshness"] == "good"
    assert health.loc["LOW-0001", "Reading freshness"] == "never"
    assert len(at.get("plotly_chart")) == 1
    tariffs = _text(at)
    assert "0.3111" in tariffs and "0.2843" in tariffs


def test_estimator_page_shows_the_settlement_estimate_and_live_session(dashboard_env):
    at = _app("estimator.py")
    at.selectbox(key="estimator_meter").select("SOLAR-0001").run()
    assert not at.exception, at.exception
    text = _text(at)
    assert "### Exporting (5-minute period)" in text
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Current power"] == "4.30 kW"
    assert metrics["Mean power (last 10)"] == "4.30 kW"
    assert "time remaining" in text
    assert len(at.get("progress")) == 1
    # The open session: 7.000 - 4.000 kWh at 12.50 + 18 % = 37.50 + 6.75 = 44.25.
    assert metrics["Energy"] == "3.000 kWh"
    assert metrics["Cost with tax"] == "44.25 INR"
    assert metrics["SOC (charger)"] == "55 %"


def test_reports_page_has_energy_sessions_and_downloads(dashboard_env):
    at = _app("reports.py")
    by_charger = at.dataframe[0].value
    # 11 deltas of 842.583 Wh (session 1) + 3,000 Wh (session 2)
    assert round(by_charger["Energy (kWh)"].sum(), 3) == 12.268
    sessions = at.dataframe[2].value
    assert "149.14" in sessions.astype(str).to_csv()
    # Completeness: CP-1:1 sent 12 energy registers and the prosumer 60 readings, whichever UTC
    # days they fall on. The prosumer's newest reading is stamped at seeding and the window ends
    # at now floored to 10 s, so it may fall just after the window.
    completeness = at.dataframe[3].value
    received = completeness.groupby("Device")["Samples received"].sum().to_dict()
    assert received["CP-1:1"] == 12
    assert received["SOLAR-0001"] in (59, 60)
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["CSV", "Parquet"] * 4
