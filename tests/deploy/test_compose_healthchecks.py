"""The health checks docker-compose.yml gives the wattline services, run as compose runs them
(the `test` command, with the port the test's process listens on) against real `wattline`
processes: they pass while the process is ready and fail once its database is gone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import yaml

ROOT = Path(__file__).parents[2]
sys.path.insert(0, str(ROOT))
from bench.ocpp_load import free_port  # noqa: E402
from tests.observed import Observed  # noqa: E402

SERVICES = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def _health_check(service: str, compose_port: int, port: int) -> int:
    test = SERVICES[service]["healthcheck"]["test"]
    assert test[0] == "CMD"
    command = [a.replace(f":{compose_port}/", f":{port}/") for a in test[1:]]
    assert command[0] == "python" and f":{port}/readyz" in command[-1]
    command[0] = sys.executable  # the image's python; here the project's
    return subprocess.run(command, capture_output=True, timeout=30, check=False).returncode


@pytest.mark.profiles("postgres")  # readiness is the same on both: is the database there
@pytest.mark.parametrize(
    ("service", "kind", "compose_port", "side_port_variable"),
    [
        ("jobs", "jobs", 9102, "WATTLINE_JOBS_HTTP_PORT"),
        ("ingest-ocpp", "ocpp", 9000, None),
    ],
)
def test_the_compose_health_check_follows_readyz(
    service, kind, compose_port, side_port_variable, db_url, db_server, tmp_path
):
    port = free_port()
    env = {"DATABASE_URL": db_url}
    if side_port_variable:
        env[side_port_variable] = str(port)
        args: tuple = ("--interval", "3600")
    else:
        env["WATTLINE_OCPP_SPOOL"] = str(tmp_path / "ocpp.jsonl")
        args = ("--host", "127.0.0.1", "--port", str(port))
    process = Observed(kind, env, port, tmp_path / f"{kind}.log", args)
    try:
        process.wait_started()
        assert process.check("/readyz")[0] == 200
        assert _health_check(service, compose_port, port) == 0
        # The database goes away: not ready, and the health check says so.
        db_server.drop(psycopg.conninfo.conninfo_to_dict(db_url)["dbname"])
        assert process.check("/readyz")[0] == 503
        assert _health_check(service, compose_port, port) != 0
    finally:
        process.stop()
