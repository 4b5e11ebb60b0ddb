"""The Alerts page through AppTest, after the alert rules ran over the seeded world (seed.sql)
with a webhook receiver that is not there."""

from __future__ import annotations

import socket

from dashboard_app import APP
from streamlit.testing.v1 import AppTest

from analytics import alerts
from sql import db


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_alerts_page_shows_open_alerts_and_undelivered_ones(dashboard_env):
    config = alerts.AlertConfig(
        thresholds={},
        webhook_url=f"http://127.0.0.1:{_closed_port()}/hook",
        webhook_attempts=1,
    )
    with db.connect(dashboard_env, autocommit=True) as conn:
        outcome = alerts.evaluate(conn, config)
    # By hand from seed.sql: LOW-0001 has 4.37 (< 5.00), was last heard 2 h ago (> 60 min) and
    # spent 16.12 - 4.37 = 11.75 in 47 h (6.00 a day: 0.7 days left, < 3); CP-2 was last seen
    # 2 h ago (> 3 x 300 s) and its connector 1 is Faulted. SOLAR-0001 sent 60 of 60 readings.
    assert (outcome.opened, outcome.dead_lettered) == (5, 5)

    at = AppTest.from_file(APP, default_timeout=30).run()
    at.switch_page("app_pages/alerts.py").run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Open": "5", "Critical": "2", "Warning": "3", "Undelivered (webhook)": "5"}
    open_now = at.dataframe[0].value
    assert sorted(zip(open_now["Rule"], open_now["Subject"], strict=True)) == [
        ("charger_faulted", "CP-2:1"),
        ("charger_offline", "CP-2"),
        ("days_to_empty", "LOW-0001"),
        ("low_balance", "LOW-0001"),
        ("meter_offline", "LOW-0001"),
    ]
    assert open_now["Severity"].tolist()[:2] == ["critical", "critical"]
    # Nothing resolved yet: that section says so instead of an empty table.
    assert any("No alert was resolved" in i.value for i in at.info)
    dead = at.dataframe[1].value
    # The first event was tried and refused; the others were not tried after it.
    assert dead["Attempts"].tolist() == [0, 0, 0, 0, 1]  # the newest first
    assert set(dead["Last error"].str.contains("ConnectionRefusedError")) == {True}
