"""The batched writer both ingest paths share: group commit, COPY, and a spool.

Callers hand over a ``Batch`` and await ``write``; it returns once the rows are committed (or,
while the database is unreachable, fsynced to the spool). Batches that arrive while a commit
is in flight are committed together in the next transaction, so the number of commits stays
small under load without delaying a lone message. Register series (meter_values,
register_readings) are COPYed straight into their tables with deltas computed here whenever the
writer knows the series' last reading (ingest/series_cache.py); the rest go through the session's
staging tables (COPY) and the merge queries of ``sql/queries/ingest.sql``, which drop re-sent
rows and compute deltas in SQL.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql as pgsql

from ingest.series_cache import MeterValuesCache, Plan, RegisterReadingsCache, SeriesCache
from ingest.spool import Spool
from sql import db, queries

log = logging.getLogger(__name__)

# target -> (table COPY goes into, its columns, the merge query run after the COPY or None)
TARGETS: dict[str, tuple[str, tuple[str, ...], str | None]] = {
    "meter_values": (
        "pg_temp.stage_meter_values",
        (
            "time",
            "received_at",
            "charge_point_id",
            "connector_id",
            "transaction_id",
            "measurand",
            "phase",
            "location",
            "context",
            "unit",
            "value",
            "quality",
        ),
        "merge_meter_values",
    ),
    "register_readings": (
        "pg_temp.stage_register_readings",
        (
            "time",
            "received_at",
            "register_id",
            "meter_id",
            "element",
            "import_wh",
            "export_wh",
            "import_w",
            "export_w",
            "quality",
        ),
        "merge_register_readings",
    ),
    "status_notifications": (
        "pg_temp.stage_status_notifications",
        (
            "time",
            "received_at",
            "charge_point_id",
            "connector_id",
            "status",
            "error_code",
            "info",
            "vendor_id",
            "vendor_error_code",
        ),
        "merge_status_notifications",
    ),
    "meter_prepay_balance": (
        "pg_temp.stage_meter_prepay_balance",
        (
            "time",
            "received_at",
            "meter_id",
            "balance",
            "emergency_credit",
        ),
        "merge_meter_prepay_balance",
    ),
    "meter_health": (
        "pg_temp.stage_meter_health",
        (
            "time",
            "received_at",
            "meter_id",
            "csq",
            "clock_time_diff_seconds",
            "voltage",
        ),
        "merge_meter_health",
    ),
    "meter_event_log": (
        "pg_temp.stage_meter_event_log",
        (
            "time",
            "received_at",
            "meter_id",
            "event_type",
            "severity",
            "details",
        ),
        "merge_meter_event_log",
    ),
    "ocpp_messages": (
        "wattline.ocpp_messages",
        (
            "time",
            "charge_point_id",
            "direction",
            "message_type",
            "message_id",
            "action",
            "payload",
            "raw",
        ),
        None,
    ),
    "ingest_rejects": (
        "wattline.ingest_rejects",
        (
            "time",
            "source",
            "key",
            "reason",
            "raw",
        ),
        None,
    ),
}


@dataclass
class Batch:
    """Rows per target (tuples in TARGETS' column order) and named-query statements that run in
    the same transaction after the rows are merged (current-state updates)."""

    rows: dict[str, list[tuple]] = field(default_factory=dict)
    statements: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def add(self, target: str, row: tuple) -> None:
        if len(row) != len(TARGETS[target][1]):
            raise ValueError(f"{target}: expected {len(TARGETS[target][1])} values, got {len(row)}")
        self.rows.setdefault(target, []).append(row)

    def run(self, query: str, params: dict[str, Any]) -> None:
        queries.get(query)  # fail now, at the caller, on a misspelt name
        self.statements.append((query, params))

    def extend(self, other: Batch) -> None:
        self.extend_rows(other)
        self.statements.extend(other.statements)

    def extend_rows(self, other: Batch) -> None:
        for target, rows in other.rows.items():
            self.rows.setdefault(target, []).extend(rows)

    def size(self) -> int:
        return sum(len(r) for r in self.rows.values()) + len(self.statements)

    def to_document(self) -> dict:
        return {"rows": self.rows, "statements": self.statements}

    @classmethod
    def from_document(cls, doc: dict) -> Batch:
        return cls(
            rows={t: [tuple(r) for r in rows] for t, rows in doc["rows"].items()},
            statements=[(q, p) for q, p in doc["statements"]],
        )


class Writer:
    def __init__(
        self,
        dsn: str,
        *,
        spool_path: Path | None = None,
        max_rows: int = 20_000,
        queue_size: int = 10_000,
        retry_interval_s: float = 2.0,
        max_series: int | None = None,
    ) -> None:
        self.dsn = dsn
        self.spool = Spool(spool_path) if spool_path else None
        self.max_rows = max_rows
        self.retry_interval_s = retry_interval_s
        # Bounded: when the database falls behind, producers wait here instead of using memory.
        self._queue: asyncio.Queue[tuple[Batch, asyncio.Future]] = asyncio.Queue(queue_size)
        self._conn: psycopg.AsyncConnection | None = None
        self._task: asyncio.Task | None = None
        self._down_until = 0.0  # while the database is down, spool without trying to connect
        self.commits = 0
        self.rows_direct = 0  # register rows COPYed straight in, deltas from the cache
        self.rows_merged = 0  # register rows staged and merged in SQL
        self.series_read = 0  # series whose last reading memory could not vouch for
        # Several writers (processes) may share a database: each is told apart in the slots.
        self.writer_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        if max_series is None:
            max_series = int(os.environ.get("WATTLINE_WRITER_SERIES") or 200_000)
        self._caches: dict[str, SeriesCache] = {
            "meter_values": MeterValuesCache(max_series),
            "register_readings": RegisterReadingsCache(max_series),
        }

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="wattline-writer")

    async def stop(self) -> None:
        """Flush what is queued, then close."""
        await self._queue.join()
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self._conn:
            await self._conn.close()

    async def write(self, batch: Batch) -> None:
        """Return once ``batch`` is durable. Raises if the database refused it (bad data)."""
        future = asyncio.get_running_loop().create_future()
        await self._queue.put((batch, future))
        await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                first = await asyncio.wait_for(self._queue.get(), self.retry_interval_s)
            except TimeoutError:
                # Idle: bring the spool home as soon as the database is back.
                if self.spool and loop.time() >= self._down_until:
                    try:
                        await self._drain_spool()
                    except psycopg.Error as exc:
                        self._mark_down(exc)
                continue
            group = [first]
            rows = group[0][0].size()
            while rows < self.max_rows and not self._queue.empty():
                group.append(self._queue.get_nowait())
                rows += group[-1][0].size()
            try:
                await self._commit_group(group)
            finally:
                for _ in group:
                    self._queue.task_done()

    async def _commit_group(self, group: list[tuple[Batch, asyncio.Future]]) -> None:
        merged = Batch()
        for batch, _ in group:
            merged.extend(batch)
        if self.spool is not None and asyncio.get_running_loop().time() < self._down_until:
            await self._to_spool(group)
            return
        try:
            await self._drain_spool()
            await self._commit(merged)
        except psycopg.OperationalError as exc:
            self._mark_down(exc)
            await self._to_spool(group, exc)
            return
        except psycopg.Error as exc:
            # One bad batch must not sink the others: commit them one by one.
            if len(group) > 1:
                for item in group:
                    await self._commit_group([item])
                return
            _, future = group[0]
            if not future.done():
                future.set_exception(BatchRefused(str(exc).strip()))
            return
        for _, future in group:
            if not future.done():
                future.set_result(None)

    def _mark_down(self, exc: Exception) -> None:
        log.warning("database unreachable (%s); retrying in %.0f s", exc, self.retry_interval_s)
        self._down_until = asyncio.get_running_loop().time() + self.retry_interval_s
        if self._conn is not None:
            self._conn = None  # a broken connection; a fresh one is made on recovery

    async def _to_spool(self, group, exc: Exception | None = None) -> None:
        if self.spool is None:
            for _, future in group:
                if not future.done():
                    future.set_exception(exc or ConnectionError("database unreachable"))
            return
        await asyncio.to_thread(self.spool.append, [b.to_document() for b, _ in group])
        for _, future in group:
            if not future.done():
                future.set_result(None)

    async def _drain_spool(self) -> None:
        """Replay spooled batches, oldest first, before anything newer, so order holds."""
        if not self.spool:
            return
        documents = list(self.spool.read())
        # A failure half-way leaves the spool as it is: replaying again is harmless for keyed
        # series (natural keys); only the unkeyed frame log can get a second copy of a frame.
        for doc in documents:
            await self._commit(Batch.from_document(doc))
        self.spool.clear()
        log.info("replayed %d spooled batch(es)", len(documents))

    async def _connection(self) -> psycopg.AsyncConnection:
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(
                db.with_session_options(self.dsn), connect_timeout=5
            )
            await self._conn.execute(queries.get("create_staging"))
            await self._conn.execute(queries.get("identify_writer"), {"writer": self.writer_id})
            await self._conn.commit()
        return self._conn

    async def _commit(self, batch: Batch) -> None:
        conn = await self._connection()
        plans: list[tuple[SeriesCache, Plan]] = []
        try:
            async with conn.transaction():
                async with conn.cursor() as cur:
                    for target, rows in batch.rows.items():
                        cache = self._caches.get(target)
                        if cache is not None:
                            plans.append((cache, await self._write_series(conn, cur, cache, rows)))
                            continue
                        table, columns, merge = TARGETS[target]
                        await _copy(cur, table, columns, rows)
                        if merge:
                            await cur.execute(queries.get(merge))
                    if batch.statements:
                        # Current-state updates come a few per message: pipelined, they cost
                        # one round trip for the whole group instead of one each.
                        async with conn.pipeline():
                            for query, params in batch.statements:
                                await cur.execute(queries.get(query), params)
        except psycopg.OperationalError:
            raise
        except psycopg.Error:
            if conn.closed or conn.broken:
                self._conn = None
            raise
        for cache, plan in plans:
            cache.commit(plan)
            self.rows_direct += len(plan.fast)
            self.rows_merged += len(plan.staged)
            self.series_read += plan.probed
        self.commits += 1

    async def _write_series(self, conn, cur, cache: SeriesCache, rows: list[tuple]) -> Plan:
        """COPY the rows newer than their series' last reading straight into the table, with
        deltas; stage and merge the others (late, re-sent), then read back the last reading of
        the series they belong to."""
        series = cache.series
        keys, slots = cache.keys_and_slots(rows)
        await cur.execute(
            queries.get("claim_writer_slots"),
            {"target": series.target, "slots": slots, "writer": self.writer_id},
        )
        plan = cache.claimed(self.writer_id, await cur.fetchall())
        unknown = cache.unknown(keys)
        if unknown:
            await self._read_last(cur, cache, plan, unknown)
            plan.probed = len(unknown)
        cache.split(plan, rows, keys)
        if plan.fast:
            try:
                async with conn.transaction():  # a savepoint: the merge can still take them all
                    await _copy(cur, series.table, series.columns, plan.fast, series.types)
            except psycopg.errors.UniqueViolation:
                # Only if the cache was wrong about a series: never trust it again blindly.
                log.warning("%s: a cached series was stale; merging the batch", series.target)
                cache.forget()
                plan = Plan(staged=rows, versions=plan.versions, probed=plan.probed)
            except (psycopg.DataError, psycopg.ProgrammingError, TypeError, ValueError):
                # A value of an unexpected Python type for binary COPY: the text COPY into
                # staging parses what it can and refuses the rest with the database's reason.
                plan = Plan(staged=rows, versions=plan.versions, probed=plan.probed)
        if plan.staged:
            stage, columns, merge = TARGETS[series.target]
            await _copy(cur, stage, columns, plan.staged)
            await cur.execute(queries.get(merge))
            # The merge may have moved these series' last readings: read them again.
            merged = list(dict.fromkeys(map(cache.key, plan.staged)))
            await self._read_last(cur, cache, plan, merged)
        return plan

    @staticmethod
    async def _read_last(cur, cache: SeriesCache, plan: Plan, keys: list) -> None:
        await cur.execute(queries.get(cache.series.probe_query), cache.probe_params(keys))
        cache.probed(plan, keys, await cur.fetchall())


async def _copy(
    cur, table: str, columns: tuple[str, ...], rows: list[tuple], types: tuple[str, ...] = ()
) -> None:
    """COPY ``rows`` into ``table``; in binary when the column ``types`` are given, which
    formats in half the time but takes only values of exactly the right Python types."""
    schema, name = table.split(".")
    copy = pgsql.SQL("COPY {}.{} ({}) FROM STDIN" + (" (FORMAT BINARY)" if types else "")).format(
        pgsql.Identifier(schema),
        pgsql.Identifier(name),
        pgsql.SQL(", ").join(map(pgsql.Identifier, columns)),
    )
    async with cur.copy(copy) as out:
        if types:
            out.set_types(list(types))
        # Format rows into the copy's buffer directly and await only when a block is full:
        # ``await write_row`` per row costs more than formatting the row.
        format_row, write = out.formatter.write_row, out.write
        for row in rows:
            if block := format_row(row):
                await write(block)


class BatchRefused(Exception):
    """The database refused a batch's data (a constraint or type error)."""
