"""`wattline demo` end to end: it migrates a fresh database, serves the dashboard with data
flowing in from the simulated devices, and on SIGINT stops every child, leaving none behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

import psycopg
from processes import free_port


def _poll(check, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if result := check():
                return result
        except (OSError, psycopg.Error):
            pass
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _children_of(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-eo", "pid=,ppid=,pgid="], capture_output=True, text=True)
    rows = [tuple(map(int, line.split())) for line in out.stdout.splitlines()]
    return [p for p, ppid, _ in rows if ppid == pid]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead, only not yet reaped.
    return (
        "Z"
        not in subprocess.run(
            ["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True
        ).stdout
    )


def test_demo_runs_everything_and_stops_cleanly(empty_db_url, tmp_path):
    ocpp_port, dashboard_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATTLINE_")}
    env["DATABASE_URL"] = empty_db_url
    env["WATTLINE_MQTT_TOPIC_PREFIX"] = f"demo{ocpp_port}"  # not mixed with other tests' meters
    demo = subprocess.Popen(
        [sys.executable, "-m", "wattline.cli", "demo", "--chargers", "2", "--meters", "2",
         "--days", "1", "--ocpp-port", str(ocpp_port), "--dashboard-port", str(dashboard_port)],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{dashboard_port}"
        _poll(lambda: urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200,
              120, "the dashboard")  # fmt: skip
        with psycopg.connect(empty_db_url, autocommit=True) as conn:
            _poll(
                lambda: conn.execute("SELECT count(*) FROM wattline.meter_values").fetchone()[0],
                60,
                "meter values from the simulated chargers",
            )
        children = _children_of(demo.pid)
        assert len(children) == 4  # ocpp, mqtt, jobs, dashboard; devices are threads
    finally:
        demo.send_signal(signal.SIGINT)
        output, _ = demo.communicate(timeout=60)
    assert demo.returncode == 0, output
    assert f"Dashboard: {url}" in output
    assert "demo stopped" in output
    assert not [pid for pid in children if _alive(pid)]
    assert (tmp_path / "var" / "demo" / "ocpp.log").exists()
