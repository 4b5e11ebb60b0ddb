"""Connections. Every connection gets the search path and UTC session time zone the SQL expects."""

from __future__ import annotations

import psycopg
from psycopg import conninfo
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

SESSION_OPTIONS = "-c search_path=wattline,public -c TimeZone=UTC"
# First probe after 10 s idle, then every 5 s, dead after 3 unanswered: ~25 s. Unacknowledged
# data (a statement sent into the void) gives up after tcp_user_timeout.
WRITER_KEEPALIVES = {
    "keepalives": "1",
    "keepalives_idle": "10",
    "keepalives_interval": "5",
    "keepalives_count": "3",
    "tcp_user_timeout": "30000",
}


def with_session_options(dsn: str) -> str:
    """The DSN with our session settings added to any ``options`` it already has."""
    params = conninfo.conninfo_to_dict(dsn)
    params["options"] = f"{params.get('options', '')} {SESSION_OPTIONS}".strip()
    return conninfo.make_conninfo(**params)


def writer_dsn(dsn: str, *, statement_timeout_s: float) -> str:
    """The DSN for an ingest writer: no statement may run past ``statement_timeout_s``, and TCP
    keepalives find a peer that went silent (a black-holed database), so a writer that lost
    its database spools instead of hanging. What the DSN sets itself is kept."""
    params = conninfo.conninfo_to_dict(with_session_options(dsn))
    timeout_ms = max(1, round(statement_timeout_s * 1000))
    params["options"] += f" -c statement_timeout={timeout_ms}"
    for key, value in WRITER_KEEPALIVES.items():
        params.setdefault(key, value)
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
