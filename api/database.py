"""The API's connections. Requests read through an async pool, with named queries; the
Polars analytics that take a blocking connection (the session report, manual settlement) run
in a worker thread on a small blocking pool, so the CLI's very functions serve the API too.

Statements are never prepared (prepare_threshold None): a prepared statement may be planned
once for all values, and queries such as report_transactions rely on being planned with their
values to drop the branch they do not take."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from sql import db, queries

T = TypeVar("T")
STATEMENT_TIMEOUT_MS = 30_000  # no request holds a connection for longer
CONNECT_TIMEOUT_S = 5
POOL_WAIT_S = 5  # a request waits this long for a connection, then gets a 503


def dsn(url: str) -> str:
    """``url`` with the session options and a statement timeout."""
    params = psycopg.conninfo.conninfo_to_dict(db.with_session_options(url))
    params["options"] += f" -c statement_timeout={STATEMENT_TIMEOUT_MS}"
    params.setdefault("connect_timeout", str(CONNECT_TIMEOUT_S))
    return psycopg.conninfo.make_conninfo(**params)


async def _configure_async(conn: psycopg.AsyncConnection) -> None:
    conn.prepare_threshold = None


def _configure(conn: psycopg.Connection) -> None:
    conn.prepare_threshold = None


class Database:
    def __init__(self, url: str, size: int = 8) -> None:
        self.url = url
        self.pool = AsyncConnectionPool(
            dsn(url),
            min_size=1,
            max_size=size,
            kwargs={"row_factory": dict_row, "autocommit": True},
            configure=_configure_async,
            open=False,
            timeout=POOL_WAIT_S,
            name="wattline-api",
        )
        self.blocking = ConnectionPool(
            dsn(url),
            min_size=0,
            max_size=max(2, size // 2),
            kwargs={"row_factory": dict_row, "autocommit": True},
            configure=_configure,
            open=False,
            timeout=POOL_WAIT_S,
            name="wattline-api-analytics",
        )

    async def open(self) -> None:
        # Start even while the database is away: /readyz says so, requests get 503.
        await self.pool.open(wait=False)
        self.blocking.open(wait=False)

    async def close(self) -> None:
        await self.pool.close()
        await asyncio.to_thread(self.blocking.close)

    async def all(self, name: str, params: dict[str, Any] | None = None) -> list[dict]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(queries.get(name), params or {})
            return await cur.fetchall()

    async def one(self, name: str, params: dict[str, Any] | None = None) -> dict | None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(queries.get(name), params or {})
            return await cur.fetchone()

    async def execute(self, name: str, params: dict[str, Any] | None = None) -> int:
        """A statement without rows; how many rows it touched."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(queries.get(name), params or {})
            return cur.rowcount

    async def in_thread(self, work: Callable[[psycopg.Connection], T]) -> T:
        """``work(conn)`` on a blocking connection in a worker thread."""

        def run() -> T:
            with self.blocking.connection() as conn:
                return work(conn)

        return await asyncio.to_thread(run)
