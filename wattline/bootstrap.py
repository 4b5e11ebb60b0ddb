"""`wattline bootstrap`: what a superuser does once on a stock PostgreSQL (scram-sha-256 for TCP
connections, peer authentication on the local socket, as Debian and the official images ship
it), so that wattline itself never needs one:

- the roles ``wattline`` (owner of the database; LOGIN CREATEDB CREATEROLE) and
  ``wattline_reader`` (read-only; LOGIN), with passwords from the ``secrets`` module;
- the database, owned by ``wattline``, its ``wattline`` schema, and where the server has it the
  ``timescaledb`` extension (CREATE EXTENSION of it needs a superuser);
- a ``.env`` file (mode 600) with the passwords and URLs, which every ``wattline`` command
  reads. It is never overwritten: a second run reuses its passwords (and sets them again).

The superuser's part runs through ``psql``: as the ``postgres`` OS user on the local socket (peer
authentication; ``runuser`` when we are root), or with ``--admin-url``.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from wattline.settings import READER_ROLE, read_env_file

OWNER_ROLE = "wattline"
SQL = Path(__file__).parents[1] / "sql" / "bootstrap_roles.sql"


@dataclass(frozen=True)
class Credentials:
    owner_password: str
    reader_password: str
    host: str
    port: int
    database: str

    def url(self, role: str, password: str) -> str:
        where = f"{self.host}:{self.port}/{self.database}"
        return f"postgresql://{role}:{quote(password, safe='')}@{where}"

    @property
    def database_url(self) -> str:
        return self.url(OWNER_ROLE, self.owner_password)

    @property
    def reader_url(self) -> str:
        return self.url(READER_ROLE, self.reader_password)


def credentials(env_file: Path, host: str, port: int, database: str) -> tuple[Credentials, bool]:
    """The passwords in ``env_file`` when it has them, else new ones written to a new file;
    True when the file was written now."""
    if env_file.exists():
        found = read_env_file(env_file)
        missing = [n for n in ("DATABASE_URL", "WATTLINE_READER_PASSWORD") if not found.get(n)]
        if missing:
            raise SystemExit(
                f"{env_file} exists without {' and '.join(missing)}; it is never overwritten: "
                "add them, or move the file away and run again"
            )
        from psycopg import conninfo

        params = conninfo.conninfo_to_dict(found["DATABASE_URL"])
        return Credentials(
            params.get("password") or "",
            found["WATTLINE_READER_PASSWORD"],
            params.get("host") or host,
            int(params.get("port") or port),
            params.get("dbname") or database,
        ), False
    made = Credentials(secrets.token_urlsafe(24), secrets.token_urlsafe(24), host, port, database)
    text = (
        "# Written by `wattline bootstrap`; read by every `wattline` command (the environment\n"
        "# wins). Keep it private: it holds the database passwords.\n"
        f"DATABASE_URL={made.database_url}\n"
        f"WATTLINE_READER_PASSWORD={made.reader_password}\n"
        f"WATTLINE_READER_URL={made.reader_url}\n"
    )
    # O_EXCL: never over a file that appeared meanwhile; 0600 from the first byte.
    fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return made, True


def psql_command(admin_url: str | None, socket_dir: str, port: int) -> list[str]:
    if admin_url:
        return ["psql", "-X", "-q", admin_url]
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return [*as_postgres, "psql", "-X", "-q", "-h", socket_dir, "-p", str(port), "-d", "postgres"]


def run(creds: Credentials, command: list[str]) -> None:
    """The superuser's part: roles, database, schema, extension (idempotent)."""
    variables = {
        "owner": OWNER_ROLE,
        "reader": READER_ROLE,
        "owner_password": creds.owner_password,
        "reader_password": creds.reader_password,
        "database": creds.database,
    }
    for name, value in variables.items():
        if any(c in value for c in "'\\\n"):  # psql's \set below takes them quoted
            raise SystemExit(f"wattline bootstrap: {name} must not hold quotes or backslashes")
    args = [f"--variable={k}={v}" for k, v in variables.items() if "password" not in k]
    # The passwords go on stdin, not the command line (which `ps` shows every user).
    preamble = "".join(f"\\set {k} '{v}'\n" for k, v in variables.items() if "password" in k)
    done = subprocess.run(
        [*command, "-v", "ON_ERROR_STOP=1", *args],
        input=preamble + SQL.read_text(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode:
        raise SystemExit(f"wattline bootstrap: psql failed: {done.stderr.strip()}")
