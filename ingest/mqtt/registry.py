"""Serial → meter id and registers, cached; unknown meters registered or refused by a setting.

Every message needs its meter's id (and a reading its register's id), so lookups are cached.
Entries expire after ``ttl_s`` so that a register replaced in the database (status 'replaced'
plus a new enabled one) starts its new series within that time.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass

import psycopg
from psycopg.rows import dict_row

from sql import db, queries


@dataclass(frozen=True)
class Register:
    register_id: uuid.UUID
    element: str
    direction_reversed: bool


@dataclass(frozen=True)
class Meter:
    meter_id: uuid.UUID
    registers: dict[str, Register]  # element -> its enabled register


class UnknownMeter(LookupError):
    pass


class Registry:
    def __init__(self, dsn: str, *, allow_unknown: bool, ttl_s: float = 60.0) -> None:
        self.dsn = dsn
        self.allow_unknown = allow_unknown
        self.ttl_s = ttl_s
        self._conn: psycopg.AsyncConnection | None = None
        self._cache: dict[str, tuple[float, Meter]] = {}
        self._lock = asyncio.Lock()  # one connection, used by one lookup at a time

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()

    async def meter(self, serial: str, elements: frozenset[str] = frozenset()) -> Meter:
        """The meter with enabled registers for ``elements`` where it can have them. Raises
        UnknownMeter if it is not registered and unknown meters are refused; registers that
        are missing are added only when unknown meters are allowed (the caller refuses the
        readings otherwise)."""
        loaded_at, meter = self._cache.get(serial, (float("-inf"), None))
        fresh = time.monotonic() - loaded_at < self.ttl_s
        if meter is not None and fresh and meter.registers.keys() >= elements:
            return meter
        async with self._lock:
            try:
                meter = await self._load(serial, elements)
            except psycopg.OperationalError:
                self._conn = None  # reconnect next time
                raise
        # Each entry lives between half and all of the TTL: meters first heard together (a
        # fleet at start-up) would otherwise all expire together and stall the consumer on a
        # thousand lookups in a row, once a TTL.
        self._cache[serial] = (time.monotonic() - random.uniform(0, self.ttl_s / 2), meter)
        return meter

    async def _load(self, serial: str, elements: frozenset[str]) -> Meter:
        conn = await self._connection()
        meter = await self._find(conn, serial)
        if meter is None:
            if not self.allow_unknown:
                raise UnknownMeter(
                    f"unknown meter {serial!r} (WATTLINE_ALLOW_UNKNOWN_METERS is off)"
                )
            await conn.execute(queries.get("register_meter"), {"serial": serial})
            meter = await self._find(conn, serial)
            assert meter is not None
        missing = elements - set(meter.registers)
        if missing and self.allow_unknown:
            for element in sorted(missing):
                await conn.execute(
                    queries.get("add_register"), {"meter_id": meter.meter_id, "element": element}
                )
            meter = await self._find(conn, serial)
            assert meter is not None
        return meter

    async def _find(self, conn: psycopg.AsyncConnection, serial: str) -> Meter | None:
        cur = await conn.execute(queries.get("find_meter"), {"serial": serial})
        row = await cur.fetchone()
        if row is None:
            return None
        registers = {
            r["element"]: Register(
                uuid.UUID(r["register_id"]), r["element"], r["direction_reversed"]
            )
            for r in row["registers"]
        }
        return Meter(row["meter_id"], registers)

    async def _connection(self) -> psycopg.AsyncConnection:
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(
                db.with_session_options(self.dsn),
                autocommit=True,
                row_factory=dict_row,
                connect_timeout=5,
            )
        return self._conn
