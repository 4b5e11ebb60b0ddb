"""Test databases: a migrated template per storage profile built once per run, a fresh copy for
each test.

Every test that takes `db_url` (or `conn`, or a fixture built on them) runs once per profile:
`postgres` on the local PostgreSQL, `timescale` on the TimescaleDB cluster `scripts/setup` runs
on port 5433 (`WATTLINE_TEST_TIMESCALE_URL`). A test about one profile says so with
`@pytest.mark.profiles("postgres")`. Without TimescaleDB the timescale runs are skipped with one
loud line saying why; under CI=true they fail instead, so CI is never green without it.

Tests never touch the user's database: the app's environment variables are removed, and every
database here is created and dropped by the fixtures.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import databases
import psycopg
import pytest
from databases import POSTGRES, SERVERS, TIMESCALE, Server

from sql import db
from sql.migrate import migrate

APP_ENV_PREFIXES = ("WATTLINE_", "DATABASE_URL", "MQTT_URL")
PROFILES = ("postgres", "timescale")
HOW_TO_GET_TIMESCALEDB = "run `bash scripts/setup` as root (it builds TimescaleDB 2.28.3)"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "storage_profile" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("profiles")
    wanted = marker.args if marker else PROFILES
    metafunc.parametrize(
        "storage_profile",
        [
            pytest.param(p, id=p, marks=[pytest.mark.timescale] if p == "timescale" else [])
            for p in wanted
        ],
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    needs_timescale = [i for i in items if i.get_closest_marker("timescale")]
    if not needs_timescale:
        return
    why = databases.timescale_missing()
    if why is None:
        return
    line = f"TimescaleDB is not available: {why}; {HOW_TO_GET_TIMESCALEDB}"
    if os.environ.get("CI") == "true":
        pytest.exit(f"{line}. CI runs both storage profiles, so this is an error.", returncode=1)
    config.stash[_MISSING] = (line, len(needs_timescale))
    for item in needs_timescale:
        item.add_marker(pytest.mark.skip(reason=line))


_MISSING = pytest.StashKey[tuple[str, int]]()


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    if _MISSING in config.stash:
        line, skipped = config.stash[_MISSING]
        terminalreporter.write_line(
            f"SKIPPED {skipped} timescale-profile tests. {line}", red=True, bold=True
        )


@pytest.fixture(autouse=True, scope="session")
def _no_app_environment() -> Iterator[None]:
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith(APP_ENV_PREFIXES)}
    # Nor the user's .env (scripts/setup writes one in the checkout; wattline.settings reads it).
    os.environ["WATTLINE_ENV_FILE"] = os.devnull
    yield
    os.environ.pop("WATTLINE_ENV_FILE", None)
    os.environ.update(saved)


class Templates:
    """One migrated template database per profile, made on first use."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def get(self, profile: str) -> str:
        if profile not in self.names:
            name = f"wattline_test_template_{uuid.uuid4().hex[:8]}"
            server = SERVERS[profile]
            self.names[profile] = name
            migrate(server.database_url(name), profile)
            if profile == "timescale":
                _unschedule_jobs(server.database_url(name))
            server.close_to_connections(name)
        return self.names[profile]

    def drop_all(self) -> None:
        for profile, name in self.names.items():
            SERVERS[profile].drop(name)


def _unschedule_jobs(url: str) -> None:
    """Copies of the template must not run policies on their own: a scheduler that found a test
    database would compress or drop the test's old rows under it. Tests run jobs with
    `CALL run_job(id)`, or schedule one again to watch the scheduler."""
    with db.connect(url, autocommit=True) as conn:
        conn.execute(
            "SELECT alter_job(job_id, scheduled => false) FROM timescaledb_information.jobs"
        )


@pytest.fixture(scope="session")
def templates() -> Iterator[Templates]:
    made = Templates()
    yield made
    made.drop_all()


@pytest.fixture(scope="session")
def template_db(templates: Templates) -> str:
    """The postgres profile's template (on the local PostgreSQL)."""
    return templates.get("postgres")


@pytest.fixture
def storage_profile() -> str:
    """The profile of this run of the test (parametrized in pytest_generate_tests)."""
    return "postgres"


@pytest.fixture
def db_server(storage_profile: str) -> Server:
    return SERVERS[storage_profile]


@pytest.fixture
def db_url(storage_profile: str, templates: Templates, db_server: Server) -> Iterator[str]:
    """A fresh, migrated database of the test's own, in the test's storage profile."""
    template = templates.get(storage_profile)
    name = f"wattline_test_{uuid.uuid4().hex[:12]}"
    db_server.copy(name, template)
    yield db_server.database_url(name)
    db_server.drop(name)


@pytest.fixture
def empty_db_url() -> Iterator[str]:
    """The name of a database that does not exist yet on the local PostgreSQL (dropped
    afterwards if created)."""
    name = f"wattline_test_{uuid.uuid4().hex[:12]}"
    yield POSTGRES.database_url(name)
    POSTGRES.drop(name)


@pytest.fixture
def empty_timescale_url() -> Iterator[str]:
    """The same on the TimescaleDB cluster."""
    why = databases.timescale_missing()
    if why:
        pytest.skip(f"TimescaleDB is not available: {why}; {HOW_TO_GET_TIMESCALEDB}")
    name = f"wattline_test_{uuid.uuid4().hex[:12]}"
    yield TIMESCALE.database_url(name)
    TIMESCALE.drop(name)


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection]:
    with db.connect(db_url, autocommit=True) as connection:
        yield connection


@pytest.fixture
def timescale_url(templates: Templates) -> Iterator[str]:
    """A fresh database in the timescale profile whatever the test's own profile (the name of
    the former PGlite server's fixture)."""
    why = databases.timescale_missing()
    if why:
        pytest.skip(f"TimescaleDB is not available: {why}; {HOW_TO_GET_TIMESCALEDB}")
    name = f"wattline_test_{uuid.uuid4().hex[:12]}"
    TIMESCALE.copy(name, templates.get("timescale"))
    yield TIMESCALE.database_url(name)
    TIMESCALE.drop(name)
