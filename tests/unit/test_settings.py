"""wattline.settings: one place for every variable, the .env file, *_FILE secrets, one-line
errors, and the README's table kept equal to what the code reads."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from wattline.cli_config import markdown_table
from wattline.settings import Settings, gather

ROOT = Path(__file__).parents[2]
SOURCES = ("wattline", "ingest", "analytics", "dashboard", "api")


def test_the_readme_table_is_the_generated_one():
    readme = (ROOT / "README.md").read_text()
    assert markdown_table() in readme, "run `wattline config --markdown` into README.md"


def test_every_variable_the_code_names_is_a_setting():
    named = set()
    for package in SOURCES:
        for path in (ROOT / package).rglob("*.py"):
            named |= set(
                re.findall(
                    r'"((?:WATTLINE|SETTLEMENT)_[A-Z0-9_]+|DATABASE_URL|MQTT_URL)"',
                    path.read_text(),
                )
            )
    table = markdown_table()
    helpers = {"WATTLINE_ENV_FILE", "WATTLINE_OCPP_"}  # the file's own name; a prefix
    missing = {n.removesuffix("_FILE") for n in named - helpers} - set(
        re.findall(r"\| `([A-Z0-9_]+)` \|", table)
    )
    assert missing == set()


def _run(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k != "WATTLINE_ENV_FILE"} | env
    return subprocess.run(
        [sys.executable, "-m", "wattline.cli", *args], env=full, cwd=cwd, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip


def test_the_environment_wins_over_dotenv_and_files_hold_secrets(tmp_path, monkeypatch):
    secret = tmp_path / "db_url"
    secret.write_text("postgresql://wattline:s3cret-from-file@db:5432/wattline\n")
    (tmp_path / ".env").write_text(
        "WATTLINE_OCPP_PORT=9100\nWATTLINE_JOBS_INTERVAL=12\n"
        f"DATABASE_URL_FILE={secret}\nWATTLINE_DASHBOARD_PASSWORD=hunter2\n"
    )
    done = _run({"WATTLINE_OCPP_PORT": "9200"}, "config", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = dict(line.split("=", 1) for line in done.stdout.splitlines())
    assert lines["WATTLINE_OCPP_PORT"] == "9200"  # the environment's
    assert lines["WATTLINE_JOBS_INTERVAL"] == "12.0"  # the file's
    assert lines["DATABASE_URL"] == "(set, not shown)"
    assert "s3cret" not in done.stdout and "hunter2" not in done.stdout

    monkeypatch.setenv("WATTLINE_ENV_FILE", str(tmp_path / ".env"))
    values = gather()
    assert values["DATABASE_URL"] == "postgresql://wattline:s3cret-from-file@db:5432/wattline"
    s = Settings.from_env(values)
    assert s.database_url.endswith("@db:5432/wattline") and "s3cret" not in repr(s)


def test_the_reader_url_carries_the_reader_password():
    s = Settings.from_env({"DATABASE_URL": "postgresql://wattline:pw@h:5433/w",
                           "WATTLINE_READER_PASSWORD": "r3ad"})  # fmt: skip
    params = dict(p.split("=", 1) for p in s.reader_url.split())
    assert params == {"user": "wattline_reader", "password": "r3ad", "host": "h", "port": "5433",
                      "dbname": "w"}  # fmt: skip


@pytest.mark.parametrize(
    "env, line",
    [
        ({"WATTLINE_OCPP_PORT": "ninety"}, "WATTLINE_OCPP_PORT='ninety' is not a number"),
        ({"WATTLINE_JOBS_INTERVAL": "-3"}, "WATTLINE_JOBS_INTERVAL must be positive"),
        ({"WATTLINE_LOG_FORMAT": "xml"},
         "WATTLINE_LOG_FORMAT='xml': Input should be 'text' or 'json'"),
        ({"DATABASE_URL_FILE": "/no/such/file"},
         "DATABASE_URL_FILE='/no/such/file': No such file or directory"),
        ({"MQTT_URL": "http://u:topsecret@h"}, "MQTT_URL: expected mqtt:// or mqtts://host:port"),
        ({"WATTLINE_API_SECRET": "short-secret"},
         "WATTLINE_API_SECRET must be at least 32 bytes long"),
        ({"WATTLINE_SITE_TZ": "Asia/Bangalore"},
         "WATTLINE_SITE_TZ='Asia/Bangalore': expected an IANA time zone such as Asia/Kolkata or "
         "UTC"),
    ],
)  # fmt: skip
def test_a_bad_value_stops_the_command_with_one_line(env, line, tmp_path):
    done = _run(env, "status", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == line  # one line, no traceback, no secret


def test_passwords_from_files_complete_urls_written_without_one(tmp_path):
    """As docker-compose.yml passes them: URLs without passwords, the passwords as secrets."""
    (tmp_path / "owner").write_text("0wner-pw\n")
    (tmp_path / "reader").write_text("r3ader-pw\n")
    s = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://wattline@db:5432/wattline",
            "WATTLINE_DB_PASSWORD_FILE": str(tmp_path / "owner"),
            "WATTLINE_READER_URL": "postgresql://wattline_reader@db:5432/wattline",
            "WATTLINE_READER_PASSWORD_FILE": str(tmp_path / "reader"),
        }
    )
    owner = dict(p.split("=", 1) for p in s.database_url.split())
    reader = dict(p.split("=", 1) for p in s.reader_url.split())
    assert (owner["user"], owner["password"], owner["host"]) == ("wattline", "0wner-pw", "db")
    assert (reader["user"], reader["password"]) == ("wattline_reader", "r3ader-pw")
    given = Settings.from_env(
        {"DATABASE_URL": "postgresql://u:own@h/d", "WATTLINE_DB_PASSWORD": "x"}
    )
    assert given.database_url == "postgresql://u:own@h/d"  # the URL's own password wins
