"""Direct queries for answers a charge point waits on (credentials, id tags, transaction ids)
and for operator commands.

A few connections (``size``), each reconnected on demand, so that a handshake's credential
look-up does not queue behind a slow statement on another one (a command claim waiting on a
row lock, say). When the database is unreachable every call raises ``DatabaseUnavailable``
quickly, and callers fall back to what they can answer without it.
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
    def __init__(self, dsn: str, *, connect_timeout_s: int = 2, size: int = 4) -> None:
        self.dsn = dsn
        self.connect_timeout_s = connect_timeout_s
        self._free: asyncio.Queue[_Slot] = asyncio.Queue()
        self._slots = [_Slot() for _ in range(size)]
        for slot in self._slots:
            self._free.put_nowait(slot)

    async def close(self) -> None:
        for slot in self._slots:
            if slot.conn is not None:
                await slot.conn.close()

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
        slot = await self._free.get()
        try:
            if slot.conn is None or slot.conn.closed or slot.conn.broken:
                slot.conn = await psycopg.AsyncConnection.connect(
                    db.with_session_options(self.dsn),
                    autocommit=True,
                    row_factory=dict_row,
                    connect_timeout=self.connect_timeout_s,
                )
            yield slot.conn
        except psycopg.OperationalError as exc:
            slot.conn = None
            raise DatabaseUnavailable(str(exc)) from exc
        finally:
            self._free.put_nowait(slot)


class _Slot:
    conn: psycopg.AsyncConnection | None = None
