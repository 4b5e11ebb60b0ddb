"""The TimescaleDB extension for `wattline migrate`: can this server create it, and is the
database's copy older than the one installed?"""

from __future__ import annotations

import re
from collections.abc import Callable

import psycopg
from psycopg.rows import tuple_row

EXTENSION = "timescaledb"
HOW_TO_PRELOAD = (
    "add shared_preload_libraries = 'timescaledb' to postgresql.conf and restart PostgreSQL"
)


def unavailable_reason(conn: psycopg.Connection) -> str | None:
    """Why ``CREATE EXTENSION timescaledb`` cannot work on this server, or None when it can.

    Asked before trying: on a server that has the extension's files but did not preload its
    library, CREATE EXTENSION is a FATAL error that closes the connection."""
    with conn.cursor(row_factory=tuple_row) as cur:
        # Created already (by a superuser: `wattline bootstrap`), so its library is loaded; a
        # role that is not a superuser may not read shared_preload_libraries at all.
        if cur.execute("SELECT 1 FROM pg_extension WHERE extname = %s", [EXTENSION]).fetchone():
            return None
        installed = cur.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = %s", [EXTENSION]
        ).fetchone()
        if not installed:
            return "the timescaledb extension is not installed on this server"
        (superuser,) = cur.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        if not superuser:  # nor may it read shared_preload_libraries
            return (
                "the role is not a superuser, which CREATE EXTENSION timescaledb needs (run it "
                "once as one in this database: `wattline bootstrap` does)"
            )
        preload = cur.execute("SELECT current_setting('shared_preload_libraries')").fetchone()[0]
    if not preloaded(preload):
        return (
            "timescaledb is installed but not in shared_preload_libraries, which it must be "
            f"({HOW_TO_PRELOAD})"
        )
    return None


def preloaded(shared_preload_libraries: str) -> bool:
    """Whether the setting's comma-separated list names the extension's loader."""
    names = (name.strip().strip('"') for name in shared_preload_libraries.split(","))
    return any(name == EXTENSION or name.startswith(f"{EXTENSION}-") for name in names)


def version_key(version: str) -> tuple[int, ...]:
    """'2.28.3' -> (2, 28, 3); a suffix such as '-dev' is ignored."""
    return tuple(int(part) for part in re.findall(r"\d+", version.split("-")[0]))


def update_needed(database_version: str | None, installed_version: str | None) -> bool:
    """True when the database's extension is older than the version installed on the server."""
    if not database_version or not installed_version:
        return False
    return version_key(installed_version) > version_key(database_version)


def update_if_older(dsn: str, log: Callable[[str], None]) -> bool:
    """``ALTER EXTENSION timescaledb UPDATE`` when the server has a newer version than the
    database; True when it ran. TimescaleDB wants it as the first statement of a session (the
    old library is loaded by any earlier one), so it gets a connection of its own. When the
    library of the database's version is gone from the server, no other statement can run
    there at all: the update is the only way forward, so it is tried."""
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            row = conn.execute(
                "SELECT e.extversion, a.default_version FROM pg_extension e"
                " JOIN pg_available_extensions a ON a.name = e.extname WHERE e.extname = %s",
                [EXTENSION],
            ).fetchone()
    except psycopg.errors.UndefinedFile as exc:
        row = (f"a version whose library is gone ({str(exc).strip()})", "the installed one")
    else:
        if row is None or not update_needed(*row):
            return False
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ALTER EXTENSION timescaledb UPDATE")
    log(f"updated the timescaledb extension from {row[0]} to {row[1]}")
    return True
