"""Issue 15, item 1: wattline on a stock PostgreSQL, which asks every TCP connection for a
scram-sha-256 password and lets only the postgres OS user in through the local socket (peer), as
Debian and the official images ship it. The test makes such a cluster of its own (initdb
--auth-host=scram-sha-256 --auth-local=peer, on a free port; TimescaleDB preloaded for that
profile), then does what a new user does: `wattline bootstrap` (roles with generated passwords,
.env), `wattline migrate` as the owner role, the dashboard's reads as wattline_reader, and the
OCPP ingest, every one with the passwords from .env and nothing else."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import Iterator

import psycopg
import pytest
from wattline_process import (
    boot_and_meter,
    clean_env,
    ocpp_process,
    wattline,
)

from bench.pg_cluster import PG_BIN, Cluster
from dashboard import data
from dashboard.config import DashboardConfig
from wattline.settings import read_env_file


class StockCluster(Cluster):
    def __init__(self, preload: str) -> None:
        super().__init__()
        self.preload = preload

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        if self.preload:
            options += f" -c shared_preload_libraries={self.preload}"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                  "-o", options, "start")  # fmt: skip
        self.running = True


@pytest.fixture
def cluster(storage_profile: str) -> Iterator[StockCluster]:
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"no initdb in {PG_BIN}")
    c = StockCluster("timescaledb" if storage_profile == "timescale" else "")
    try:
        c.init()
        c.start()
        yield c
    finally:
        c.remove()


def test_bootstrap_migrate_read_and_ingest_with_generated_passwords(
    cluster, storage_profile, tmp_path
):
    env = clean_env(WATTLINE_ENV_FILE=str(tmp_path / ".env"))
    boot = ["bootstrap", "--port", str(cluster.port), "--socket-dir", str(cluster.root)]
    first = wattline(*boot, env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "passwords written to" in first.stdout
    dotenv = tmp_path / ".env"
    assert stat.S_IMODE(dotenv.stat().st_mode) == 0o600
    written = dotenv.read_text()
    values = read_env_file(dotenv)
    owner = psycopg.conninfo.conninfo_to_dict(values["DATABASE_URL"])
    assert (owner["user"], owner["port"], owner["dbname"]) == (
        "wattline", str(cluster.port), "wattline",
    )  # fmt: skip
    assert len(owner["password"]) >= 32 and len(values["WATTLINE_READER_PASSWORD"]) >= 32
    assert owner["password"] not in first.stdout + first.stderr

    again = wattline(*boot, env=env, cwd=tmp_path)  # a second run reuses, never rewrites
    assert again.returncode == 0 and "passwords from" in again.stdout
    assert dotenv.read_text() == written

    migrated = wattline("migrate", "--storage", storage_profile, env=env, cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert f"({storage_profile} profile;" in migrated.stdout

    # The ingest connects as the owner, with the password it finds in .env alone.
    ingest_env = env | {"WATTLINE_ALLOW_UNKNOWN_CHARGERS": "true"}
    with ocpp_process(ingest_env, tmp_path) as (process, port):
        asyncio.run(boot_and_meter(port, "CP-STOCK", process, wh=12_345))

    config = DashboardConfig.from_env(values)
    with psycopg.connect(
        config.reader_url, autocommit=True, row_factory=psycopg.rows.dict_row
    ) as r:
        assert r.execute("SELECT current_user AS u").fetchone() == {"u": "wattline_reader"}
        cards = data.frame(r, "dash_charger_cards").to_dicts()
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            r.execute("DELETE FROM wattline.meter_values")
    assert [(c["charge_point_id"], c["vendor"], c["connector_id"], c["status"]) for c in cards] == [
        ("CP-STOCK", "Acme", 1, "Charging")
    ]
    assert float(cards[0]["meter_kwh"]) == 12.345


@pytest.mark.profiles("postgres")  # about roles and passwords, not storage
def test_a_wrong_password_and_a_missing_privilege_are_named(cluster, tmp_path):
    env = clean_env(WATTLINE_ENV_FILE=str(tmp_path / ".env"))
    boot = ["bootstrap", "--port", str(cluster.port), "--socket-dir", str(cluster.root)]
    assert wattline(*boot, env=env, cwd=tmp_path).returncode == 0
    owner = read_env_file(tmp_path / ".env")["DATABASE_URL"]

    wrong = owner.replace("@127.0.0.1", "x@127.0.0.1")  # the password with one more letter
    done = wattline("migrate", env=env | {"DATABASE_URL": wrong}, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert 'password authentication failed for user "wattline"' in done.stderr
    assert done.stderr.count("\n") == 1  # one line

    # A role that may log in and nothing more: migrate says what to grant, and creates nothing.
    with psycopg.connect(cluster.url(), autocommit=True) as admin:
        admin.execute("CREATE ROLE plain LOGIN PASSWORD 'plain-pw'")
    plain = f"postgresql://plain:plain-pw@127.0.0.1:{cluster.port}/plain_db"
    done = wattline("migrate", env=env | {"DATABASE_URL": plain}, cwd=tmp_path)
    assert (done.returncode, done.stderr) == (
        2,
        "wattline migrate: role 'plain' lacks CREATEDB, which creating database 'plain_db' "
        "needs; as a superuser: ALTER ROLE plain CREATEDB (or CREATE DATABASE plain_db OWNER "
        "plain), or run `wattline bootstrap`\n",
    )
    with psycopg.connect(cluster.url(), autocommit=True) as admin:
        admin.execute("ALTER ROLE plain CREATEDB")
    done = wattline("migrate", env=env | {"DATABASE_URL": plain}, cwd=tmp_path)
    assert done.returncode == 2
    assert "role 'plain' lacks CREATEROLE" in done.stderr and "ALTER ROLE plain CREATEROLE" in (
        done.stderr
    )
    with psycopg.connect(cluster.url(), autocommit=True) as admin:
        assert admin.execute(
            "SELECT count(*) FROM pg_database WHERE datname = 'plain_db'"
        ).fetchone() == (0,)
        admin.execute("ALTER ROLE plain CREATEROLE")
    done = wattline("migrate", env=env | {"DATABASE_URL": plain}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
