"""Creating and dropping test databases on the real PostgreSQL server."""

from __future__ import annotations

import os

import psycopg
from psycopg import conninfo
from psycopg import sql as pgsql

ADMIN_URL = os.environ.get("WATTLINE_TEST_ADMIN_URL", "postgresql://127.0.0.1:5432/postgres")


def database_url(name: str) -> str:
    params = conninfo.conninfo_to_dict(ADMIN_URL)
    params["dbname"] = name
    return conninfo.make_conninfo(**params)


def admin(query: pgsql.Composable) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(query)


def drop_database(name: str) -> None:
    admin(pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pgsql.Identifier(name)))


def copy_database(name: str, template: str) -> None:
    admin(
        pgsql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            pgsql.Identifier(name), pgsql.Identifier(template)
        )
    )


def create_database(name: str) -> None:
    admin(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(name)))
