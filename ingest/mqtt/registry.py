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


_MISSING: tuple[float, None] = (float("-inf"), None)


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

    def cached(self, serial: str, elements: frozenset[str]) -> Meter | None:
        """The cached meter, if it is fresh and has registers for ``elements``."""
        loaded_at, meter = self._cache.get(serial, _MISSING)
        if meter is not None and meter.registers.keys() >= elements:
            if time.monotonic() - loaded_at < self.ttl_s:
                return meter
        return None

    async def meters(self, wanted: dict[str, frozenset[str]]) -> dict[str, Meter | UnknownMeter]:
        """For each serial, the meter with enabled registers for its elements where it can have
        them, or UnknownMeter if it is not registered and unknown meters are refused. Registers
        that are missing are added only when unknown meters are allowed (the caller refuses
        the readings otherwise). Meters not cached are looked up together, in one round of
        queries whatever their number: a fleet heard for the first time, or whose entries
        expire, costs a few queries, not a few per meter."""
        found: dict[str, Meter | UnknownMeter] = {}
        load: dict[str, frozenset[str]] = {}
        for serial, elements in wanted.items():
            meter = self.cached(serial, elements)
            if meter is None:
                load[serial] = elements
            else:
                found[serial] = meter
        if load:
            async with self._lock:
                try:
                    loaded = await self._load(load)
                except psycopg.OperationalError:
                    self._conn = None  # reconnect next time
                    raise
            for serial, meter in loaded.items():
                # Each entry lives between half and all of the TTL: meters first heard together
                # (a fleet at start-up) would otherwise all expire together, once a TTL.
                at = time.monotonic() - random.uniform(0, self.ttl_s / 2)
                self._cache[serial] = (at, meter)
            for serial in load:
                found[serial] = loaded.get(serial) or UnknownMeter(
                    f"unknown meter {serial!r} (WATTLINE_ALLOW_UNKNOWN_METERS is off)"
                )
        return found

    async def _load(self, wanted: dict[str, frozenset[str]]) -> dict[str, Meter]:
        conn = await self._connection()
        meters = await self._find(conn, list(wanted))
        if not self.allow_unknown:
            return meters
        unknown = sorted(set(wanted) - set(meters))
        if unknown:
            await conn.execute(queries.get("register_meters"), {"serials": unknown})
            meters.update(await self._find(conn, unknown))
        missing = {}
        for serial, elements in wanted.items():
            if serial in meters and (absent := elements - meters[serial].registers.keys()):
                missing[serial] = absent
        if missing:
            pairs = sorted(
                (meters[s].meter_id, e) for s, elements in missing.items() for e in elements
            )
            params = {"meter_ids": [m for m, _ in pairs], "elements": [e for _, e in pairs]}
            await conn.execute(queries.get("add_registers"), params)
            meters.update(await self._find(conn, list(missing)))
        return meters

    async def _find(self, conn: psycopg.AsyncConnection, serials: list[str]) -> dict[str, Meter]:
        cur = await conn.execute(queries.get("find_meters"), {"serials": serials})
        meters = {}
        for row in await cur.fetchall():
            registers = {
                r["element"]: Register(
                    uuid.UUID(r["register_id"]), r["element"], r["direction_reversed"]
                )
                for r in row["registers"]
            }
            meters[row["serial"]] = Meter(row["meter_id"], registers)
        return meters

    async def _connection(self) -> psycopg.AsyncConnection:
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(
                db.with_session_options(self.dsn),
                autocommit=True,
                row_factory=dict_row,
                connect_timeout=5,
            )
        return self._conn
