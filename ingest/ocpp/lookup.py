"""Direct queries for answers a charge point waits on (credentials, id tags, transaction ids)
and for operator commands.

One connection, reconnected on demand. When the database is unreachable every call raises
``DatabaseUnavailable`` quickly, and callers fall back to what they can answer without it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row

from sql import db, queries


class DatabaseUnavailable(Exception):
    pass


class Lookup:
    def __init__(self, dsn: str, *, connect_timeout_s: int = 2) -> None:
        self.dsn = dsn
        self.connect_timeout_s = connect_timeout_s
        self._conn: psycopg.AsyncConnection | None = None
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()

    async def one(self, *statements: tuple[str, dict[str, Any]]) -> dict[str, Any] | None:
        """Run named queries in one transaction; the first row of the last one."""
        async with self._session() as conn, conn.transaction():
            row = None
            for name, params in statements:
                cur = await conn.execute(queries.get(name), params)
                row = await cur.fetchone() if cur.description else None
            return row

    async def all(self, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Every row of one named query."""
        async with self._session() as conn:
            cur = await conn.execute(queries.get(name), params)
            return await cur.fetchall()

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[psycopg.AsyncConnection]:
        async with self._lock:
            try:
                if self._conn is None or self._conn.closed or self._conn.broken:
                    self._conn = await psycopg.AsyncConnection.connect(
                        db.with_session_options(self.dsn),
                        autocommit=True,
                        row_factory=dict_row,
                        connect_timeout=self.connect_timeout_s,
                    )
                yield self._conn
            except psycopg.OperationalError as exc:
                self._conn = None
                raise DatabaseUnavailable(str(exc)) from exc
