"""Issue 15, item 4: WATTLINE_LOG_FORMAT=json makes a real `wattline ocpp` process write one JSON
object a line, naming the charge point a line is about, and never a password."""

from __future__ import annotations

import asyncio
import getpass
import json
from datetime import UTC, datetime, timedelta

import pytest
from psycopg import conninfo
from wattline_process import boot_and_meter, clean_env, ocpp_process

from wattline.logs import mask

PASSWORD = "pw-that-must-not-show"


@pytest.mark.profiles("postgres")  # about the process's output, not storage
def test_every_line_is_a_json_object_and_none_holds_the_password(db_url, tmp_path):
    # The test servers trust local connections: the password is carried, never checked.
    p = conninfo.conninfo_to_dict(db_url)
    user = p.get("user") or getpass.getuser()
    url = f"postgresql://{user}:{PASSWORD}@{p['host']}:{p['port']}/{p['dbname']}"
    env = clean_env(
        DATABASE_URL=url, WATTLINE_LOG_FORMAT="json", WATTLINE_ALLOW_UNKNOWN_CHARGERS="true"
    )
    started = datetime.now(UTC)
    with ocpp_process(env, tmp_path) as (process, port):
        asyncio.run(boot_and_meter(port, "CP-LOG", process, wh=500))
    text = (tmp_path / "ocpp.log").read_text()
    lines = [json.loads(line) for line in text.splitlines()]  # every line parses
    assert PASSWORD not in text
    assert len(lines) >= 3
    for line in lines:
        assert {"time", "level", "process", "logger", "message"} <= line.keys(), line
        assert line["process"] == "ocpp"
        at = datetime.fromisoformat(line["time"])
        assert at.utcoffset() == timedelta(0)  # UTC, with its offset written
        assert started - timedelta(seconds=1) <= at <= datetime.now(UTC)
    database = [line for line in lines if line["message"].startswith("database ")]
    assert database and f"//{user}:***@" in database[0]["message"]
    connected = [line for line in lines if line["message"] == "CP-LOG: connected"]
    assert (
        connected and connected[0]["charge_point"] == "CP-LOG" and connected[0]["level"] == "info"
    )
    # Lines not about a charger (start-up, shutdown) name none.
    assert "charge_point" not in database[0]


@pytest.mark.parametrize(
    "line, shown",
    [
        ("postgresql://u:s3cret@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("mqtt://meter:p%40ss@broker:1883 refused", "mqtt://meter:***@broker:1883 refused"),
        ("host=h user=u password=s3cret dbname=d", "host=h user=u password=*** dbname=d"),
        ("password='a b' host=h", "password=*** host=h"),
        ("Authorization: Basic dTpw", "Authorization: [redacted]"),
        ("no secret at postgresql://h/db", "no secret at postgresql://h/db"),
    ],
)
def test_mask_hides_passwords_in_urls_and_conninfo(line, shown):
    assert mask(line) == shown
