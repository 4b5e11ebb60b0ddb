"""A PostgreSQL cluster of one's own, which a fault drill (tests/drills) or a benchmark
(bench.outage_replay) may stop, start and break without touching the shared server at 5432.

``initdb`` with scram-sha-256 for TCP connections and a generated password (nothing depends on
trust auth), on a free port, started and stopped with ``pg_ctl``. As root the server runs as the
``postgres`` user (PostgreSQL refuses to run as root) in a directory that user owns. Each
database is copied from one migrated template, so the migration runs once per cluster.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg
from psycopg import sql as pgsql

from bench.ocpp_load import free_port
from sql.migrate import migrate

PG_BIN = Path(os.environ.get("WATTLINE_DRILL_PG_BIN", "/usr/lib/postgresql/15/bin"))
SERVER_USER = "postgres"


class Cluster:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="wattline-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()
        self.password = secrets.token_urlsafe(18)
        self.running = False
        self._template: str | None = None
        if os.geteuid() == 0:
            shutil.chown(self.root, SERVER_USER, SERVER_USER)
        self.root.chmod(0o700)

    def _run(self, *command: str) -> str:
        """A PostgreSQL program, as the server's user when we are root."""
        as_user = ["runuser", "-u", SERVER_USER, "--"] if os.geteuid() == 0 else []
        done = subprocess.run(
            [*as_user, str(PG_BIN / command[0]), *command[1:]],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode:
            raise RuntimeError(
                f"{command[0]} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
            )
        return done.stdout

    def init(self) -> None:
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if os.geteuid() == 0:
            shutil.chown(pwfile, SERVER_USER, SERVER_USER)
        pwfile.chmod(0o600)
        try:
            self._run(
                "initdb", "-D", str(self.data), "-U", "postgres", f"--pwfile={pwfile}",
                "--auth-local=peer", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C",
                "--no-sync",
            )  # fmt: skip
        finally:
            pwfile.unlink()

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                  "-o", options, "start")  # fmt: skip
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        """``fast``: what an operator's restart does (clients are cut off, a checkpoint is
        written); ``immediate``: a crash."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")
        self.running = False

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres:{self.password}@127.0.0.1:{self.port}/{dbname}"

    def database(self, prefix: str = "wattline_drill") -> str:
        """A fresh, migrated database (postgres profile); returns its URL."""
        if self._template is None:
            self._template = "wattline_template"
            migrate(self.url(self._template), "postgres")
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(
                pgsql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    pgsql.Identifier(name), pgsql.Identifier(self._template)
                )
            )
        return self.url(name)

    def remove(self) -> None:
        if self.running:
            try:
                self.stop("immediate")
            except RuntimeError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)
