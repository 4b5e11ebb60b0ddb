"""Connections. Every connection gets the search path and UTC session time zone the SQL expects."""

from __future__ import annotations

import psycopg
from psycopg import conninfo
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

SESSION_OPTIONS = "-c search_path=wattline,public -c TimeZone=UTC"


def with_session_options(dsn: str) -> str:
    """The DSN with our session settings added to any ``options`` it already has."""
    params = conninfo.conninfo_to_dict(dsn)
    params["options"] = f"{params.get('options', '')} {SESSION_OPTIONS}".strip()
    return conninfo.make_conninfo(**params)


def connect(dsn: str, *, autocommit: bool = False) -> psycopg.Connection:
    return psycopg.connect(with_session_options(dsn), autocommit=autocommit, row_factory=dict_row)


def pool(
    dsn: str, *, min_size: int = 1, max_size: int = 4, name: str = "wattline"
) -> ConnectionPool:
    return ConnectionPool(
        with_session_options(dsn),
        min_size=min_size,
        max_size=max_size,
        kwargs={"row_factory": dict_row},
        name=name,
        open=True,
    )


def database_name(dsn: str) -> str:
    return conninfo.conninfo_to_dict(dsn).get("dbname") or "postgres"


def maintenance_dsn(dsn: str) -> str:
    """The same server and credentials, on the always-present ``postgres`` database."""
    params = conninfo.conninfo_to_dict(dsn)
    params["dbname"] = "postgres"
    return conninfo.make_conninfo(**params)
