"""Alert rules against a real database (both profiles) and a real HTTP webhook receiver: the
alerts a user would expect from a fleet set up by hand, their resolution when the condition
clears, and a receiver that keeps failing -> dead-letter rows."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
import pytest

from analytics import alerts, jobs
from sql import db, queries
from wattline import cli

M1, M2, M3, M4, M5 = (f"00000000-0000-0000-0000-0000000000{i}1" for i in range(1, 6))
R1 = "00000000-0000-0000-0000-0000000001a1"

# The fleet, relative to now():
# - EML1: prepay, balance 3.20 (under 5.00: warning), seen 10 min ago, 30 readings in the last
#   hour where 60 are expected (one a minute): 50.0 % complete.
# - EML2: prepay, balance -1.00 (critical), last seen 2 h ago (offline: over 60 min).
# - EML3: prosumer with a balance of 1.00: not a prepayment meter, no low-balance alert.
# - EML4: prepay, registered, never heard from: no alert at all.
# - EML5: prepay, balance 30 -> 20 -> 10 over the last two days: 10 a day, 1.0 day to empty
#   (under 3); balance 10 is not low.
# - CP-A: Accepted, seen 20 min ago (over 3 x 300 s = 15 min): offline.
# - CP-B: Accepted, seen a minute ago; connector 1 Faulted (GroundFailure).
# - CP-C: Pending, seen long ago: not one of ours yet, no alert.
FLEET = f"""
INSERT INTO wattline.meter_registry (id, serial, kind) VALUES
    ('{M1}', 'EML1', 'prepay'), ('{M2}', 'EML2', 'prepay'), ('{M3}', 'EML3', 'prosumer'),
    ('{M4}', 'EML4', 'prepay'), ('{M5}', 'EML5', 'prepay');
INSERT INTO wattline.meter_shadows (id, balance, balance_updated_at, last_seen_at) VALUES
    ('{M1}', 3.20, now(), now() - INTERVAL '10 minutes'),
    ('{M2}', -1.00, now() - INTERVAL '2 hours', now() - INTERVAL '2 hours'),
    ('{M3}', 1.00, now(), now()),
    ('{M5}', 10, now(), now() - INTERVAL '5 minutes');
INSERT INTO wattline.meter_prepay_balance (time, meter_id, balance) VALUES
    (now() - INTERVAL '2 days', '{M5}', 30), (now() - INTERVAL '1 day', '{M5}', 20),
    (now(), '{M5}', 10);
INSERT INTO wattline.meter_registers (register_id, meter_id, element) VALUES
    ('{R1}', '{M1}', 'SINGLE');
INSERT INTO wattline.register_readings (time, register_id, meter_id, element, import_wh)
SELECT now() - k * INTERVAL '115 seconds', '{R1}', '{M1}', 'SINGLE', 1000 - k
  FROM generate_series(1, 30) AS k;
INSERT INTO wattline.charge_points (id, registration_status, last_seen_at) VALUES
    ('CP-A', 'Accepted', now() - INTERVAL '20 minutes'),
    ('CP-B', 'Accepted', now() - INTERVAL '1 minute'),
    ('CP-C', 'Pending', now() - INTERVAL '30 days');
INSERT INTO wattline.connectors (charge_point_id, connector_id, status, error_code, status_at)
VALUES ('CP-B', 1, 'Faulted', 'GroundFailure', now()), ('CP-B', 2, 'Available', 'NoError', now());
"""

EXPECTED_OPEN = [
    ("charger_faulted", "connector", "CP-B:1", "critical"),
    ("charger_offline", "charge_point", "CP-A", "critical"),
    ("days_to_empty", "meter", "EML5", "warning"),
    ("low_balance", "meter", "EML1", "warning"),
    ("low_balance", "meter", "EML2", "critical"),
    ("low_completeness", "meter", "EML1", "warning"),
    ("meter_offline", "meter", "EML2", "warning"),
]


class Receiver:
    """A webhook receiver: answers each POST with the next status of ``statuses`` (the last one
    repeats) and keeps every body it was sent."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.bodies: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.bodies.append(
                    {"content_type": self.headers["Content-Type"], **json.loads(body)}
                )
                status = outer.statuses[min(len(outer.bodies), len(outer.statuses)) - 1]
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def _config(url: str | None = None, **overrides) -> alerts.AlertConfig:
    base = dict(thresholds={}, webhook_url=url, webhook_attempts=3, webhook_backoff_s=0.01)
    return alerts.AlertConfig(**{**base, **overrides})


def _open(conn: psycopg.Connection) -> list[tuple]:
    return [
        (r["rule"], r["subject_kind"], r["subject_id"], r["severity"])
        for r in sorted(alerts.open_alerts(conn), key=lambda r: (r["rule"], r["subject_id"]))
    ]


def _faulted(conn: psycopg.Connection, error_code: str) -> None:
    """CP-B, seen just now, with connector 1 Faulted."""
    conn.execute(
        "INSERT INTO wattline.charge_points (id, registration_status, last_seen_at) "
        "VALUES ('CP-B', 'Accepted', now())"
    )
    conn.execute(
        "INSERT INTO wattline.connectors (charge_point_id, connector_id, status, error_code) "
        "VALUES ('CP-B', 1, 'Faulted', %s)",
        (error_code,),
    )


@pytest.fixture
def fleet(conn: psycopg.Connection) -> Iterator[psycopg.Connection]:
    conn.execute(FLEET)
    yield conn


def test_rules_open_alerts_post_them_and_resolve_what_clears(fleet):
    conn = fleet
    with Receiver([204]) as hook:
        first = alerts.evaluate(conn, _config(hook.url))
        assert (first.opened, first.resolved, first.open_now) == (7, 0, 7)
        assert (first.delivered, first.dead_lettered) == (7, 0)
        assert _open(conn) == EXPECTED_OPEN
        details = {
            (r["rule"], r["subject_id"]): json.loads(r["details"])
            for r in conn.execute(
                "SELECT rule, subject_id, details::text AS details FROM wattline.alerts"
            ).fetchall()
        }
        assert details["low_balance", "EML1"]["balance"] == 3.20
        assert details["low_balance", "EML1"]["threshold"] == 5.00
        assert details["days_to_empty", "EML5"]["days_until_empty"] == 1.0
        assert details["days_to_empty", "EML5"]["burn_per_day"] == 10.00
        assert details["low_completeness", "EML1"] == {
            "completeness_pct": 50.0,
            "received": 30,
            "expected": 60,
            "window_hours": 1.0,
            "threshold_pct": 90.0,
        }
        assert details["charger_faulted", "CP-B:1"]["error_code"] == "GroundFailure"
        assert details["charger_offline", "CP-A"]["threshold_s"] == 900
        assert details["meter_offline", "EML2"]["offline_minutes"] == 120

        posted = sorted(
            (b["event"], b["alert"]["rule"], b["alert"]["subject_id"]) for b in hook.bodies
        )
        assert posted == sorted(("opened", rule, sid) for rule, _, sid, _ in EXPECTED_OPEN)
        assert {b["content_type"] for b in hook.bodies} == {"application/json"}
        one = next(
            b
            for b in hook.bodies
            if b["alert"]["subject_id"] == "EML2" and b["alert"]["rule"] == "low_balance"
        )
        assert one["alert"]["severity"] == "critical" and one["alert"]["resolved_at"] is None
        assert one["alert"]["details"]["balance"] == -1.00

        # Nothing changed: a second pass opens and posts nothing, and keeps the same rows.
        ids_before = conn.execute(
            "SELECT array_agg(id ORDER BY id) AS ids FROM wattline.alerts"
        ).fetchone()["ids"]
        again = alerts.evaluate(conn, _config(hook.url))
        assert (again.opened, again.resolved, again.open_now) == (0, 0, 7)
        assert len(hook.bodies) == 7
        assert (
            conn.execute("SELECT array_agg(id ORDER BY id) AS ids FROM wattline.alerts").fetchone()[
                "ids"
            ]
            == ids_before
        )

        # EML1 tops up to 20.00 and CP-B's connector 1 recovers: those two resolve.
        conn.execute(f"UPDATE wattline.meter_shadows SET balance = 20 WHERE id = '{M1}'")
        conn.execute(
            "UPDATE wattline.connectors SET status = 'Available', error_code = 'NoError'"
            " WHERE charge_point_id = 'CP-B' AND connector_id = 1"
        )
        third = alerts.evaluate(conn, _config(hook.url))
        assert (third.opened, third.resolved, third.open_now) == (0, 2, 5)
        resolved = sorted((b["alert"]["rule"], b["alert"]["subject_id"]) for b in hook.bodies[7:])
        assert resolved == [("charger_faulted", "CP-B:1"), ("low_balance", "EML1")]
        assert all(b["event"] == "resolved" and b["alert"]["resolved_at"] for b in hook.bodies[7:])
    assert _open(conn) == [
        a
        for a in EXPECTED_OPEN
        if a[:3]
        not in {("charger_faulted", "connector", "CP-B:1"), ("low_balance", "meter", "EML1")}
    ]
    row = conn.execute(
        "SELECT resolved_at >= opened_at AS ordered, resolved_at IS NOT NULL AS r "
        "FROM wattline.alerts WHERE rule = 'low_balance' AND subject_id = 'EML1'"
    ).fetchone()
    assert row == {"ordered": True, "r": True}

    # The condition comes back: a new alert (a new row), the old one stays resolved.
    conn.execute(f"UPDATE wattline.meter_shadows SET balance = 1 WHERE id = '{M1}'")
    fourth = alerts.evaluate(conn, _config())
    assert (fourth.opened, fourth.resolved) == (1, 0)
    assert conn.execute(
        "SELECT count(*) AS n, count(resolved_at) AS done FROM wattline.alerts "
        "WHERE rule = 'low_balance' AND subject_id = 'EML1'"
    ).fetchone() == {"n": 2, "done": 1}


def test_thresholds_from_the_environment(fleet):
    conn = fleet
    config = alerts.AlertConfig.from_env(
        {
            "WATTLINE_ALERT_LOW_BALANCE": "3",  # EML1's 3.20 is no longer low
            "WATTLINE_ALERT_DAYS_TO_EMPTY": "1",  # EML5's 1.0 day is not under 1
            "WATTLINE_ALERT_OFFLINE_MINUTES": "180",  # EML2's 2 h is not offline
            "WATTLINE_ALERT_HEARTBEAT_MISSES": "5",  # CP-A's 20 min is under 5 x 300 s
            "WATTLINE_ALERT_COMPLETENESS_PCT": "50",  # EML1's 50.0 % is not under 50
        }
    )
    alerts.evaluate(conn, config)
    assert _open(conn) == [
        ("charger_faulted", "connector", "CP-B:1", "critical"),
        ("low_balance", "meter", "EML2", "critical"),
    ]
    # The thresholds held for the evaluation's transaction only.
    assert conn.execute("SELECT wattline.setting('low_balance_threshold', 5.00) AS t").fetchone()[
        "t"
    ] == Decimal("5.00")


def test_bad_threshold_is_a_clear_error():
    with pytest.raises(SystemExit, match="WATTLINE_ALERT_LOW_BALANCE='five' is not a number"):
        alerts.AlertConfig.from_env({"WATTLINE_ALERT_LOW_BALANCE": "five"})
    with pytest.raises(SystemExit, match="http:// or https://"):
        alerts.AlertConfig.from_env({"WATTLINE_ALERT_WEBHOOK_URL": "ftp://x"})


def test_a_failing_webhook_leaves_dead_letters(conn):
    _faulted(conn, "OverCurrentFailure")
    with Receiver([503]) as hook:
        outcome = alerts.evaluate(conn, _config(hook.url))
        # Three attempts, all answered 503, then a dead-letter row.
        assert len(hook.bodies) == 3
    assert (outcome.opened, outcome.delivered, outcome.dead_lettered) == (1, 0, 1)
    dead = conn.execute(
        "SELECT d.event, d.attempts, d.last_error, d.payload, a.rule, a.subject_id "
        "FROM wattline.alert_dead_letters d JOIN wattline.alerts a ON a.id = d.alert_id"
    ).fetchall()
    assert len(dead) == 1
    assert dead[0]["event"] == "opened" and dead[0]["attempts"] == 3
    assert dead[0]["last_error"] == "HTTP 503 Service Unavailable"
    assert (dead[0]["rule"], dead[0]["subject_id"]) == ("charger_faulted", "CP-B:1")
    assert dead[0]["payload"]["alert"]["details"]["error_code"] == "OverCurrentFailure"
    # The alert itself is open whatever happened to its delivery.
    assert _open(conn) == [("charger_faulted", "connector", "CP-B:1", "critical")]

    # A receiver that is not there at all: the same, with the connection error.
    conn.execute("UPDATE wattline.connectors SET status = 'Available'")
    with Receiver([204]) as gone:
        url = gone.url
    outcome = alerts.evaluate(conn, _config(url))
    assert (outcome.resolved, outcome.dead_lettered) == (1, 1)
    last = conn.execute(
        "SELECT event, last_error FROM wattline.alert_dead_letters ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert last["event"] == "resolved"
    assert last["last_error"].startswith("ConnectionRefusedError")


def test_a_flaky_webhook_is_retried_until_it_answers(conn):
    conn.execute(
        "INSERT INTO wattline.charge_points (id, registration_status, last_seen_at) "
        "VALUES ('CP-Z', 'Accepted', now() - INTERVAL '1 day')"
    )
    with Receiver([500, 502, 200]) as hook:
        outcome = alerts.evaluate(conn, _config(hook.url))
    assert (outcome.delivered, outcome.dead_lettered) == (1, 0)
    assert len(hook.bodies) == 3  # two failures, then delivered on the third attempt
    assert (
        conn.execute("SELECT count(*) AS n FROM wattline.alert_dead_letters").fetchone()["n"] == 0
    )


def test_jobs_pass_and_cli_run_the_same_evaluation(fleet, db_url, monkeypatch, capsys):
    done = jobs.run_once(fleet)
    assert (done["alerts opened"], done["alerts resolved"]) == (7, 0)
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert cli.main(["alerts"]) == 0
    out = capsys.readouterr().out
    assert "opened 0, resolved 0" in out
    assert "7 open alert(s)" in out
    lines = [line.split() for line in out.splitlines() if line.startswith("  ")]
    # The most severe first, then the oldest (one pass opened all: in rule order).
    assert [line[:4] for line in lines] == [
        ["critical", "low_balance", "meter", "EML2"],
        ["critical", "charger_offline", "charge_point", "CP-A"],
        ["critical", "charger_faulted", "connector", "CP-B:1"],
        ["warning", "low_balance", "meter", "EML1"],
        ["warning", "days_to_empty", "meter", "EML5"],
        ["warning", "meter_offline", "meter", "EML2"],
        ["warning", "low_completeness", "meter", "EML1"],
    ]


def test_a_dead_receiver_costs_one_events_retries_per_pass(fleet):
    """Seven events and a receiver that always answers 503: the first event gets its three
    attempts, the other six go straight to dead letters, untried."""
    with Receiver([503]) as hook:
        outcome = alerts.evaluate(fleet, _config(hook.url))
        assert len(hook.bodies) == 3
    assert (outcome.opened, outcome.delivered, outcome.dead_lettered) == (7, 0, 7)
    rows = fleet.execute(
        "SELECT attempts, last_error FROM wattline.alert_dead_letters ORDER BY id"
    ).fetchall()
    assert [r["attempts"] for r in rows] == [3, 0, 0, 0, 0, 0, 0]
    assert rows[0]["last_error"] == "HTTP 503 Service Unavailable"
    assert {r["last_error"] for r in rows[1:]} == {
        "not tried: an earlier event of this pass failed (HTTP 503 Service Unavailable)"
    }
    # Every event is kept with its payload, to be posted again by hand.
    payloads = fleet.execute(
        "SELECT payload->'alert'->>'rule' AS rule FROM wattline.alert_dead_letters"
    ).fetchall()
    assert sorted(p["rule"] for p in payloads) == sorted(a[0] for a in EXPECTED_OPEN)


def test_the_webhook_url_from_a_file(tmp_path):
    secret = tmp_path / "alert_webhook_url"
    secret.write_text("https://hooks.example.test/T000/B000/XXXX\n")
    config = alerts.AlertConfig.from_env({"WATTLINE_ALERT_WEBHOOK_URL_FILE": str(secret)})
    assert config.webhook_url == "https://hooks.example.test/T000/B000/XXXX"
    secret.write_text("")  # an empty secret: no webhook
    assert (
        alerts.AlertConfig.from_env({"WATTLINE_ALERT_WEBHOOK_URL_FILE": str(secret)}).webhook_url
        is None
    )
    secret.write_text("hooks.example.test/secret-token")
    with pytest.raises(SystemExit) as refused:
        alerts.AlertConfig.from_env({"WATTLINE_ALERT_WEBHOOK_URL_FILE": str(secret)})
    assert "secret-token" not in str(refused.value)


def test_two_evaluators_at_once_open_an_alert_once(conn, db_url):
    """B has opened the alert and not committed; A's evaluation waits on the one-open-alert
    index, and once B commits, A refreshes B's alert instead of opening (and posting) another."""
    _faulted(conn, "GroundFailure")
    current = [{"subject_kind": "connector", "subject_id": "CP-B:1", "severity": "critical",
                "details": {}}]  # fmt: skip
    with db.connect(db_url) as b, db.connect(db_url, autocommit=True) as a:
        opened_by_b = b.execute(
            queries.get("alert_upsert"),
            {"rule": "charger_faulted", "current": json.dumps(current)},
        ).fetchall()
        assert [e["event"] for e in opened_by_b] == ["opened"]
        a_pid = a.info.backend_pid
        result: list[alerts.Outcome] = []
        thread = threading.Thread(target=lambda: result.append(alerts.evaluate(a, _config())))
        thread.start()
        deadline = time.monotonic() + 30
        while not conn.execute(
            "SELECT wait_event_type = 'Lock' AS waiting FROM pg_stat_activity WHERE pid = %s",
            (a_pid,),
        ).fetchone()["waiting"]:
            assert time.monotonic() < deadline, "A never reached the alert B holds"
            time.sleep(0.02)
        b.commit()
        thread.join()
    assert (result[0].opened, result[0].resolved, result[0].open_now) == (0, 0, 1)
    assert conn.execute(
        "SELECT count(*) AS n FROM wattline.alerts WHERE rule = 'charger_faulted'"
    ).fetchone() == {"n": 1}


def test_cli_lists_without_evaluating_and_names_a_missing_database(
    fleet, db_url, monkeypatch, capsys
):
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert cli.main(["alerts", "--list"]) == 0
    assert capsys.readouterr().out == "0 open alert(s)\n"  # nothing evaluated: none opened
    params = psycopg.conninfo.conninfo_to_dict(db_url)
    gone = psycopg.conninfo.make_conninfo(**(params | {"dbname": params["dbname"] + "_gone"}))
    monkeypatch.setenv("DATABASE_URL", gone)
    assert cli.main(["alerts"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("wattline alerts: ") and "does not exist" in err
