"""`wattline jobs` and `wattline dashboard` answer /healthz, /readyz and /metrics on their side
ports (wattline/observe/http.py), as real processes."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.ocpp_load import free_port  # noqa: E402
from tests.observed import Observed, until  # noqa: E402

OK = (200, {"status": "ok"})
ROLLUPS = {
    "connector_energy_15m", "connector_energy_daily", "connector_energy_hourly", "meter_energy_5m",
    "meter_energy_daily", "meter_energy_hourly", "prepay_balance_daily",
}  # fmt: skip


def test_jobs_export_one_pass_and_the_rollup_lag(db_url, storage_profile, tmp_path):
    port = free_port()
    env = {"DATABASE_URL": db_url, "WATTLINE_JOBS_HTTP_PORT": str(port)}
    jobs = Observed("jobs", env, port, tmp_path / "jobs.log", ("--interval", "3600"))
    try:
        jobs.wait_started()
        until(lambda: jobs.sample("wattline_job_passes_total", outcome="ok") == 1, "one pass")
        assert jobs.check("/healthz") == OK
        assert jobs.check("/readyz") == OK
        steps = {"settlement", "tariffs", "commands", "alerts"}
        if storage_profile == "postgres":  # TimescaleDB's policies do the other two
            steps |= {"refresh", "retention"}
        for step in steps:
            assert jobs.sample("wattline_job_step_seconds_count", step=step) == 1
        lags = {
            labels[0][1]: value
            for (name, labels), value in jobs.metrics().items()
            if name == "wattline_rollup_refresh_lag_seconds"
        }
        assert set(lags) == ROLLUPS
        if storage_profile == "postgres":  # the pass has just refreshed every rollup
            assert set(lags.values()) == {0}
        assert jobs.sample("wattline_job_lag_seconds") < 3600
    finally:
        jobs.stop()


def test_the_dashboard_answers_before_any_page_is_opened(db_url, tmp_path):
    port = free_port()
    env = {"DATABASE_URL": db_url, "WATTLINE_DASHBOARD_HTTP_PORT": str(port)}
    args = ("--port", str(free_port()), "--address", "127.0.0.1")
    dashboard = Observed("dashboard", env, port, tmp_path / "dashboard.log", args)
    try:
        dashboard.wait_started()
        assert dashboard.check("/healthz") == OK
        assert dashboard.check("/readyz") == OK  # as the reader role, as the pages read
        assert dashboard.sample("process_resident_memory_bytes") > 0
    finally:
        dashboard.stop()
