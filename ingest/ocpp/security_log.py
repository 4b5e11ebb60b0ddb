"""Security events: refused handshakes and the like, logged at once and stored in
``security_events`` (0019) in the background, a batch at a time, on a connection of their own.

While the database is away events are still logged; up to ``max_waiting`` wait for it, the
oldest dropped first (and counted in the log), so a flood cannot grow memory without bound.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from ingest.ocpp.auth import shown
from sql import db, queries

log = logging.getLogger(__name__)


class SecurityEvents:
    def __init__(
        self, dsn: str, *, source: str = "ocpp", max_waiting: int = 10_000, retry_s: float = 2.0
    ) -> None:
        self.dsn = dsn
        self.source = source
        self.retry_s = retry_s
        self._waiting: deque[tuple] = deque(maxlen=max_waiting)
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task | None = None
        self._conn: psycopg.AsyncConnection | None = None
        self.dropped = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._store_forever(), name="wattline-security-events")

    async def stop(self) -> None:
        if self._task is not None:
            await self.flush()
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._conn is not None:
            await self._conn.close()

    def record(self, event: str, identity: str | None, address: str | None, **details: Any) -> None:
        who = shown(identity) if identity is not None else None
        log.warning("security: %s: %s from %s %s", event, who, address, details or "")
        if len(self._waiting) == self._waiting.maxlen:
            self.dropped += 1
        self._waiting.append((datetime.now(UTC), who, address, event, details))
        self._wake.set()

    async def flush(self) -> None:
        """Store what is waiting now (for tests and the stop)."""
        try:
            await self._store()
        except psycopg.Error as exc:
            self._conn = None
            log.warning("security events: not stored yet (%s)", exc)

    async def _store_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._store()
            except psycopg.Error as exc:
                self._conn = None
                log.warning("security events: database away (%s); retrying", exc)
                await asyncio.sleep(self.retry_s)
                self._wake.set()

    async def _store(self) -> None:
        async with self._lock:  # one batch at a time: the flush and the background task
            await self._store_waiting()

    async def _store_waiting(self) -> None:
        if not self._waiting:
            return
        rows = list(self._waiting)
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(
                db.with_session_options(self.dsn), autocommit=True, connect_timeout=2
            )
        await self._conn.execute(
            queries.get("record_security_events"),
            {
                "times": [r[0] for r in rows],
                "sources": [self.source] * len(rows),
                "identities": [r[1] for r in rows],
                "addresses": [r[2] for r in rows],
                "events": [r[3] for r in rows],
                "details": [Jsonb(r[4]) for r in rows],
            },
        )
        for _ in rows:
            self._waiting.popleft()
        if self.dropped:
            log.warning("security events: %d dropped while the database was away", self.dropped)
            self.dropped = 0
