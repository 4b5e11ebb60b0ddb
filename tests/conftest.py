"""Test databases: a migrated template built once per run, a fresh copy for each test.

Tests never touch the user's database: the app's environment variables are removed, and every
database here is created and dropped by the fixtures.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from databases import copy_database, database_url, drop_database

from sql import db
from sql.migrate import migrate

TIMESCALE_DIR = Path(__file__).parent / "timescale_server"
sys.path.insert(0, str(TIMESCALE_DIR))
from launcher import start_timescale_server  # noqa: E402

APP_ENV_PREFIXES = ("WATTLINE_", "DATABASE_URL", "MQTT_URL")


@pytest.fixture(autouse=True, scope="session")
def _no_app_environment() -> Iterator[None]:
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith(APP_ENV_PREFIXES)}
    yield
    os.environ.update(saved)


@pytest.fixture(scope="session")
def template_db() -> Iterator[str]:
    """A database migrated with the postgres profile, used only as a template."""
    name = f"wattline_test_template_{uuid.uuid4().hex[:8]}"
    migrate(database_url(name), "postgres")
    yield name
    drop_database(name)


@pytest.fixture
def db_url(template_db: str) -> Iterator[str]:
    """A fresh, migrated database of the test's own."""
    name = f"wattline_test_{uuid.uuid4().hex[:12]}"
    copy_database(name, template_db)
    yield database_url(name)
    drop_database(name)


@pytest.fixture
def empty_db_url() -> Iterator[str]:
    """The name of a database that does not exist yet (dropped afterwards if created)."""
    name = f"wattline_test_{uuid.uuid4().hex[:12]}"
    yield database_url(name)
    drop_database(name)


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection]:
    with db.connect(db_url, autocommit=True) as connection:
        yield connection


@pytest.fixture(scope="session")
def timescale_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A TimescaleDB data directory migrated with the timescale profile, built once per run.
    PGlite has one database per server, so each test gets a copy of this directory."""
    data_dir = tmp_path_factory.mktemp("timescale") / "template"
    with start_timescale_server(TIMESCALE_DIR, data_dir=data_dir) as server:
        migrate(server.dsn, "timescale")
    return data_dir


@pytest.fixture
def timescale_url(timescale_template: Path, tmp_path: Path) -> Iterator[str]:
    """A running TimescaleDB test server with a migrated database of the test's own.
    It serves one connection at a time: close one before opening the next."""
    data_dir = tmp_path / "timescale"
    shutil.copytree(timescale_template, data_dir)
    with start_timescale_server(TIMESCALE_DIR, data_dir=data_dir) as server:
        yield server.dsn
