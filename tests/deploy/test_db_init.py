"""deploy/db-init/10-reader-role.sh as the database image runs it on the first start (as the
postgres user, through the local socket), on a cluster of the test's own that asks every TCP
connection for a scram-sha-256 password, as the TimescaleDB image does: afterwards the reader
signs in with the password from its secret file, and `wattline migrate` keeps it."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).parents[2]
sys.path.insert(0, str(ROOT))  # bench/ is not an installed package
from bench.pg_cluster import PG_BIN, SERVER_USER, Cluster  # noqa: E402
from sql.migrate import migrate  # noqa: E402

SCRIPT = ROOT / "deploy/db-init/10-reader-role.sh"


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"no initdb in {PG_BIN}")
    c = Cluster()
    try:
        c.init()
        c.start()
        yield c
    finally:
        c.remove()


def _init_script(cluster: Cluster, password_file: Path) -> None:
    as_user = ["runuser", "-u", SERVER_USER, "--"] if os.geteuid() == 0 else []
    env = {
        "PATH": f"{PG_BIN}:{os.environ['PATH']}",
        "PGHOST": str(cluster.root),
        "PGPORT": str(cluster.port),
        "POSTGRES_USER": "postgres",
        "POSTGRES_DB": "postgres",
        "WATTLINE_READER_PASSWORD_FILE": str(password_file),
    }
    subprocess.run([*as_user, "bash", str(SCRIPT)], env=env, check=True, capture_output=True)


def _reader_url(cluster: Cluster, password: str) -> str:
    return f"postgresql://wattline_reader:{password}@127.0.0.1:{cluster.port}/wattline"


def test_the_reader_gets_its_password_from_the_secret(cluster):
    password = secrets.token_urlsafe(32)
    secret = cluster.root / "db_reader_password"
    secret.write_text(password)  # no newline, as scripts/compose-secrets writes it
    if os.geteuid() == 0:
        shutil.chown(secret, SERVER_USER, SERVER_USER)
    _init_script(cluster, secret)
    migrate(cluster.url("wattline"), "postgres")

    with psycopg.connect(_reader_url(cluster, password)) as reader:
        assert reader.execute("SELECT count(*) FROM wattline.meters_low_balance").fetchone() == (0,)
        assert reader.execute("SELECT current_user").fetchone() == ("wattline_reader",)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(_reader_url(cluster, password + "x")).close()

    # Run again with a new secret (the role exists now): the password changes to it.
    secret.write_text(password[::-1])
    _init_script(cluster, secret)
    psycopg.connect(_reader_url(cluster, password[::-1])).close()
