"""Creating and dropping test databases on the real servers: PostgreSQL for the postgres storage
profile, the TimescaleDB cluster `scripts/setup` runs (port 5433) for the timescale profile.

The URLs are read at import, before the test session removes the app's WATTLINE_* variables.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import psycopg
from psycopg import conninfo
from psycopg import sql as pgsql

ADMIN_URL = os.environ.get("WATTLINE_TEST_ADMIN_URL", "postgresql://127.0.0.1:5432/postgres")
TIMESCALE_ADMIN_URL = os.environ.get(
    "WATTLINE_TEST_TIMESCALE_URL", "postgresql://postgres@127.0.0.1:5433/postgres"
)


@dataclass(frozen=True)
class Server:
    admin_url: str

    def database_url(self, name: str) -> str:
        params = conninfo.conninfo_to_dict(self.admin_url)
        params["dbname"] = name
        return conninfo.make_conninfo(**params)

    def admin(self, query: pgsql.Composable) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(query)

    def drop(self, name: str) -> None:
        self.admin(
            pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pgsql.Identifier(name))
        )

    def copy(self, name: str, template: str) -> None:
        self.admin(
            pgsql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                pgsql.Identifier(name), pgsql.Identifier(template)
            )
        )

    def create(self, name: str) -> None:
        self.admin(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(name)))

    def close_to_connections(self, name: str) -> None:
        """Make ``name`` a template nobody holds open. TimescaleDB's scheduler keeps a
        connection to every database with the extension, and CREATE DATABASE ... TEMPLATE
        refuses a template in use; a database that allows no connections gets no scheduler."""
        ident = pgsql.Identifier(name)
        self.admin(pgsql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(ident))
        self.admin(
            pgsql.SQL(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = {}"
            ).format(pgsql.Literal(name))
        )


POSTGRES = Server(ADMIN_URL)
TIMESCALE = Server(TIMESCALE_ADMIN_URL)
SERVERS = {"postgres": POSTGRES, "timescale": TIMESCALE}


def timescale_missing() -> str | None:
    """Why the TimescaleDB test server cannot be used, or None when it can."""
    try:
        with psycopg.connect(TIMESCALE_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            row = conn.execute(
                "SELECT current_setting('shared_preload_libraries'),"
                " (SELECT default_version FROM pg_available_extensions"
                "   WHERE name = 'timescaledb')"
            ).fetchone()
    except psycopg.OperationalError as exc:
        return f"nothing answers at {TIMESCALE_ADMIN_URL} ({str(exc).strip().splitlines()[0]})"
    if row[1] is None:
        return f"the server at {TIMESCALE_ADMIN_URL} has no timescaledb extension"
    if "timescaledb" not in row[0]:
        return f"the server at {TIMESCALE_ADMIN_URL} does not preload timescaledb"
    return None


# The postgres server's, for tests written before there were two.
def database_url(name: str) -> str:
    return POSTGRES.database_url(name)


def drop_database(name: str) -> None:
    POSTGRES.drop(name)


def copy_database(name: str, template: str) -> None:
    POSTGRES.copy(name, template)


def create_database(name: str) -> None:
    POSTGRES.create(name)


def admin(query: pgsql.Composable) -> None:
    POSTGRES.admin(query)
