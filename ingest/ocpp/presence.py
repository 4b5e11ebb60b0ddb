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
        self._wanted: list[tuple[str, asyncio.Future]] = []
        self._unwanted: list[str] = []
        self._asking: asyncio.Task | None = None

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()

    async def take(self, identity: str) -> bool | None:
        """True: this process now holds ``identity``; False: another process does; None: the
        database is away, nobody can tell. Handshakes arriving together share one query."""
        future = asyncio.get_running_loop().create_future()
        self._wanted.append((identity, future))
        self._ask_soon()
        return await future

    def give_up(self, identity: str) -> None:
        """Let go of ``identity`` (soon, together with others let go at the same moment)."""
        if identity in self.held:
            self.held.discard(identity)
            self._unwanted.append(identity)
            self._ask_soon()

    def _ask_soon(self) -> None:
        if self._asking is None or self._asking.done():
            self._asking = asyncio.create_task(self._ask_for_wanted())

    async def _ask_for_wanted(self) -> None:
        # Releases first: a charge point that reconnects right after closing finds it free.
        while self._wanted or self._unwanted:
            batch, self._wanted = self._wanted, []
            released, self._unwanted = self._unwanted, []
            held: dict[str, bool] | None = {}
            async with self._lock:
                try:
                    if released and self._conn is not None and not self._conn.closed:
                        await self._conn.execute(
                            queries.get("charge_point_absence"), {"charge_point_ids": released}
                        )
                    if batch:
                        conn = await self._connection()
                        held = await self._ask_many(conn, [i for i, _ in batch])
                except psycopg.Error as exc:  # no handshake may wait on an answer never given
                    self._lost(exc)  # (and a lost session has let go of everything)
                    held = None
            for identity, future in batch:
                answer = None if held is None else held[identity]
                if answer:
                    self.held.add(identity)
                if not future.done():
                    future.set_result(answer)

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
        held = await self._ask_many(self._conn, sorted(self.held)) if self.held else {}
        for identity in sorted(i for i, ok in held.items() if not ok):
            log.warning("%s: connected to another process too (taken while away)", identity)
        return self._conn

    @staticmethod
    async def _ask_many(conn: psycopg.AsyncConnection, identities: list[str]) -> dict[str, bool]:
        cur = await conn.execute(
            queries.get("charge_point_presence"), {"charge_point_ids": list(set(identities))}
        )
        return {row["id"]: row["held"] for row in await cur.fetchall()}

    def _lost(self, exc: Exception) -> None:
        log.warning("presence locks: database away (%s)", exc)
        self._conn = None
