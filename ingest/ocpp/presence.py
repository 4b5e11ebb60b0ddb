"""One live connection per identity across every central system process.

The process holding a charge point's connection holds a session-level advisory lock for its
identity on a connection of its own (``charge_point_presence``); another process's handshake for
that identity fails to take the lock and is refused. A process that dies, or loses its database
session, loses its locks with it, so nothing needs cleaning up after a crash. While the database
is away the lock cannot be asked for: the handshake goes ahead on what this process knows (its
own connections), and the locks are taken again when the database is back.
"""

from __future__ import annotations

import asyncio
import logging

import psycopg
from psycopg.rows import dict_row

from sql import db, queries

log = logging.getLogger(__name__)


class Presence:
    def __init__(self, dsn: str, *, connect_timeout_s: int = 2) -> None:
        self.dsn = dsn
        self.connect_timeout_s = connect_timeout_s
        self._conn: psycopg.AsyncConnection | None = None
        self._lock = asyncio.Lock()
        self.held: set[str] = set()

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()

    async def take(self, identity: str) -> bool | None:
        """True: this process now holds ``identity``; False: another process does; None: the
        database is away, nobody can tell."""
        async with self._lock:
            try:
                conn = await self._connection()
                held = await self._ask(conn, "charge_point_presence", identity)
            except psycopg.OperationalError as exc:
                self._lost(exc)
                return None
        if held:
            self.held.add(identity)
        return held

    async def give_up(self, identity: str) -> None:
        if identity not in self.held:
            return
        self.held.discard(identity)
        async with self._lock:
            if self._conn is None or self._conn.closed or self._conn.broken:
                return  # the session, and the lock with it, is gone already
            try:
                await self._ask(self._conn, "charge_point_absence", identity)
            except psycopg.OperationalError as exc:
                self._lost(exc)

    async def _connection(self) -> psycopg.AsyncConnection:
        if self._conn is not None and not self._conn.closed and not self._conn.broken:
            return self._conn
        self._conn = await psycopg.AsyncConnection.connect(
            db.with_session_options(self.dsn),
            autocommit=True,
            row_factory=dict_row,
            connect_timeout=self.connect_timeout_s,
        )
        # A new session holds nothing: take again what this process still holds. One that
        # another process took meanwhile stays with both until one of them disconnects; say so.
        for identity in sorted(self.held):
            if not await self._ask(self._conn, "charge_point_presence", identity):
                log.warning("%s: connected to another process too (taken while away)", identity)
        return self._conn

    @staticmethod
    async def _ask(conn: psycopg.AsyncConnection, query: str, identity: str) -> bool:
        cur = await conn.execute(queries.get(query), {"charge_point_id": identity})
        row = await cur.fetchone()
        return bool(row and next(iter(row.values())))

    def _lost(self, exc: Exception) -> None:
        log.warning("presence locks: database away (%s)", exc)
        self._conn = None
