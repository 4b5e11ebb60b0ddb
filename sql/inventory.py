"""What a migrated database holds, for `wattline status` and the demo's first screen."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import errors
from psycopg import sql as pgsql

from sql import queries
from sql.rollups import storage_profile

COUNT_TIMEOUT_MS = 2000  # a status line must not wait minutes on a billion-row table


@dataclass(frozen=True)
class Relation:
    name: str
    kind: str
    rows: int | None  # None: counting took too long


def relations(conn: psycopg.Connection) -> list[Relation]:
    profile = storage_profile(conn)
    found = []
    for row in conn.execute(queries.get("relations"), {"profile": profile}).fetchall():
        found.append(Relation(row["name"], row["kind"], _count(conn, row["name"])))
    return found


def _count(conn: psycopg.Connection, name: str) -> int | None:
    query = pgsql.SQL("SELECT count(*) AS n FROM wattline.{}").format(pgsql.Identifier(name))
    try:
        with conn.transaction():
            conn.execute(
                "SELECT set_config('statement_timeout', %s, true)", [str(COUNT_TIMEOUT_MS)]
            )
            return conn.execute(query).fetchone()["n"]
    except errors.QueryCanceled:
        return None
