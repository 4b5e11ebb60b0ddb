"""The privileges `wattline migrate` needs, checked before it acts, so that a role without one
gets a sentence naming it (and how to grant it) instead of an error half-way through:

- CREATEDB, when the database does not exist yet (migrate creates it);
- CREATEROLE, to create ``wattline_reader`` and set its session defaults (sql/grants.sql);
- CREATE on the database, when the ``wattline`` schema is not there yet;
- superuser, for ``CREATE EXTENSION timescaledb`` when the timescale profile is asked for and the
  extension is not in the database yet (``wattline bootstrap`` creates it as the superuser).

A superuser has them all. Roles made by ``wattline bootstrap`` have the first three.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg.rows import dict_row

from sql import db

QUERY = (Path(__file__).parent / "privileges.sql").read_text()
GRANT_AS_SUPERUSER = "as a superuser: {}, or run `wattline bootstrap`"


def problem_before(dsn: str) -> str | None:
    """Before anything is created: what the role lacks, or None."""
    name = db.database_name(dsn)
    try:
        role = _role(dsn, name)
    except psycopg.errors.UndefinedFile:
        # The database's TimescaleDB library is gone from the server: no statement runs there
        # until migrate's ALTER EXTENSION UPDATE; problem_inside checks after it.
        return None
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            return f"cannot connect to the database: {_first_line(exc)}"
        try:
            role = _role(db.maintenance_dsn(dsn), name)
        except psycopg.OperationalError as exc:
            return f"cannot connect to the server: {_first_line(exc)}"
    who = role["role"]
    if role["superuser"]:
        return None
    if not role["database_exists"] and not role["createdb"]:
        return (
            f"role {who!r} lacks CREATEDB, which creating database {name!r} needs; "
            + GRANT_AS_SUPERUSER.format(
                f"ALTER ROLE {who} CREATEDB (or CREATE DATABASE {name} OWNER {who})"
            )
        )
    if not role["createrole"]:
        return (
            f"role {who!r} lacks CREATEROLE, which creating wattline_reader and setting its "
            "session defaults needs; " + GRANT_AS_SUPERUSER.format(f"ALTER ROLE {who} CREATEROLE")
        )
    return None


def _role(dsn: str, database: str) -> dict:
    with psycopg.connect(dsn, connect_timeout=10, row_factory=dict_row) as conn:
        return conn.execute(QUERY, {"database": database}).fetchone()


def problem_inside(conn: psycopg.Connection, storage: str | None) -> str | None:
    """Connected to the database: what the role lacks there, or None."""
    row = conn.execute(
        "SELECT current_user AS role, current_database() AS database,"
        " (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser,"
        " has_database_privilege(current_database(), 'CREATE') AS can_create,"
        " EXISTS (SELECT FROM pg_namespace WHERE nspname = 'wattline') AS has_schema,"
        " EXISTS (SELECT FROM pg_extension WHERE extname = 'timescaledb') AS has_timescaledb"
    ).fetchone()
    who, name = row["role"], row["database"]
    if row["superuser"]:
        return None
    if not row["has_schema"] and not row["can_create"]:
        return (
            f"role {who!r} lacks CREATE on database {name!r}, which creating the wattline "
            "schema needs; "
            + GRANT_AS_SUPERUSER.format(f"GRANT CREATE ON DATABASE {name} TO {who}")
        )
    if storage == "timescale" and not row["has_timescaledb"]:
        return (
            f"role {who!r} is not a superuser, which CREATE EXTENSION timescaledb needs; "
            f"run it once as a superuser in database {name!r} (`wattline bootstrap` does), "
            "or use WATTLINE_STORAGE=postgres"
        )
    return None


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
