"""The batched writer both ingest paths share: group commit, COPY, a spool, and containment.

Callers hand over a ``Batch`` and await ``write``; it returns once the rows are committed (or,
while the database is unreachable, fsynced to the spool). Batches that arrive while a commit
is in flight are committed together in the next transaction, so the number of commits stays
small under load without delaying a lone message. Register series (meter_values,
register_readings) are COPYed straight into their tables with deltas computed here whenever the
writer knows the series' last reading (ingest/series_cache.py); the rest go through the session's
staging tables (COPY) and the merge queries of ``sql/queries/ingest.sql``, which drop re-sent
rows and compute deltas in SQL.

Containment: whatever a batch holds, it can fail only itself. A group the database refuses (a
psycopg error, or anything Python raises on the way: OverflowError from a binary COPY, a
UnicodeEncodeError) is split in halves and retried until only the refused batches are left;
their callers get ``BatchRefused``. Anything else that goes wrong in the loop fails the batches
in hand (``WriterFailed``), is logged with its traceback, and the loop carries on; if the task
ends all the same, ``wait_dead`` wakes the process's watchdog (ingest/supervise.py).

Database away (connection lost, statement timeout, no answer within the commit timeout): the
batches go to the spool and a background probe reconnects every ``retry_interval_s``. Replay
(ingest/spool_replay.py) then brings the spool home a chunk at a time in a task of its own, and
while a backlog is left live groups are appended behind it instead of committed directly, and
answered after the fsync without waiting for any replay chunk: replay commits in spool order, so
nothing newer overtakes older data. (The merges would get deltas right in any order, but a
current-state statement may not: a StopTransaction committed before its spooled offline
StartTransaction would become an orphan.) Once what is left fits in one chunk, the live loop
waits for that last chunk and then commits directly again, or live appends would keep the spool
from ever running dry. Replay and live commits share one connection, one transaction at a time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import pq
from psycopg import sql as pgsql

from ingest import spool_format
from ingest.batch import REPLAY_KEYED, TARGETS, Batch, BatchRefused, DatabaseAway, WriterFailed
from ingest.series_cache import MeterValuesCache, Plan, RegisterReadingsCache, SeriesCache
from ingest.spool import Spool, SpoolFull
from ingest.spool_replay import Replay
from sql import db, queries
from wattline.observe import metrics
from wattline.settings import Settings

__all__ = [
    "TARGETS",
    "Batch",
    "BatchRefused",
    "DatabaseAway",
    "SpoolFull",
    "Writer",
    "WriterFailed",
]

log = logging.getLogger(__name__)

# SQLSTATE classes that say "not now" rather than "not this data": connection exceptions,
# transaction rollback (deadlock, serialization), insufficient resources, operator
# intervention (shutdown, statement timeout), system errors.
AWAY_CLASSES = ("08", "40", "53", "57", "58")
CONNECT_TIMEOUT_S = 5
YIELD_ROWS = 1_000  # rows a COPY formats between two turns of the event loop


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
        statement_timeout_s: float | None = None,
        spool_max_bytes: int | None = None,
        stop_timeout_s: float = 30.0,
    ) -> None:
        settings = Settings.from_env()  # what the arguments leave open
        self.dsn = dsn
        if spool_max_bytes is None:
            spool_max_bytes = settings.spool_max_bytes
        self.spool = Spool(spool_path, spool_max_bytes) if spool_path else None
        self.max_rows = max_rows
        self.retry_interval_s = retry_interval_s
        if statement_timeout_s is None:
            statement_timeout_s = settings.db_statement_timeout_s
        self.statement_timeout_s = statement_timeout_s
        # The server ends a statement after statement_timeout; this is for a server that
        # never answers at all (keepalives find a dead peer too, but only after ~25 s idle).
        self.commit_timeout_s = statement_timeout_s + 10
        self.stop_timeout_s = stop_timeout_s
        # Bounded: when the database falls behind, producers wait here instead of using memory.
        self._queue: asyncio.Queue[tuple[Batch, asyncio.Future]] = asyncio.Queue(queue_size)
        self._conn: psycopg.AsyncConnection | None = None
        self._task: asyncio.Task | None = None
        self._probe: asyncio.Task | None = None
        self._replayer: asyncio.Task | None = None
        # Replay and live commits share the connection; only one transaction at a time.
        self._db_lock = asyncio.Lock()
        self._away = False  # the database is unreachable: spool, and let the probe reconnect
        self._retry_at = 0.0
        self._stopping = False
        self._spool_full = False
        self._spool_refused = False  # sticky _spool_full: see spool_full
        self._dead = asyncio.Event()
        self.replay = Replay(self)
        self.commits = 0
        self.replayed = 0  # spooled documents committed by replay
        self.quarantined = 0  # spooled documents the database refused on replay
        self.rows_direct = 0  # register rows COPYed straight in, deltas from the cache
        self.rows_merged = 0  # register rows staged and merged in SQL
        self.series_read = 0  # series whose last reading memory could not vouch for
        # Several writers (processes) may share a database: each is told apart in the slots.
        self.writer_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        if max_series is None:
            max_series = settings.writer_series
        self._caches: dict[str, SeriesCache] = {
            "meter_values": MeterValuesCache(max_series),
            "register_readings": RegisterReadingsCache(max_series),
        }
        metrics.watch_writer(self)

    # -- life --

    @property
    def alive(self) -> bool:
        """Started and still running (for health checks)."""
        return self._task is not None and not self._task.done()

    @property
    def database_away(self) -> bool:
        return self._away

    @property
    def spool_full(self) -> bool:
        """The spool refused an append since it last ran dry with the database there (for
        readiness checks: smaller batches may still fit, but this process is refusing data)."""
        if self._spool_refused and not self._away and not self.spool:
            self._spool_refused = False
        return self._spool_refused

    async def wait_dead(self) -> None:
        """Return if the writer task ever ends other than by ``stop``."""
        await self._dead.wait()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="wattline-writer")
        self._task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task) -> None:
        if self._stopping:
            return
        error = None if task.cancelled() else task.exception()
        log.critical("the writer task ended unexpectedly", exc_info=error)
        self._fail_queued("the writer is not running")
        self._dead.set()

    async def end_for_drill(self) -> None:
        """End the writer task as a fault would (ingest/supervise.py, SIGUSR2)."""
        for _ in range(50):  # asyncio.wait_for (3.11) may swallow one cancel
            if self._task is None or self._task.done():
                return
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=0.1)

    async def stop(self) -> None:
        """Flush what is queued (for at most ``stop_timeout_s``), then close; what is left
        fails with WriterFailed."""
        if self.alive:
            try:
                await asyncio.wait_for(self._queue.join(), self.stop_timeout_s)
            except TimeoutError:
                log.error("writer: %d batch(es) not stored at stop", self._queue.qsize())
        self._stopping = True
        for task in (self._task, self._probe, self._replayer):
            # Again and again: asyncio.wait_for (3.11) swallows a cancel that lands just as
            # its inner future completes.
            for _ in range(50):
                if task is None or task.done():
                    break
                task.cancel()
                await asyncio.wait({task}, timeout=0.1)
        self._fail_queued("the writer stopped before storing this batch")
        await self._drop_connection()

    async def write(self, batch: Batch) -> None:
        """Return once ``batch`` is durable. Raises BatchRefused if the database refused its
        data, SpoolFull if it is away and the spool cannot take more, WriterFailed or
        DatabaseAway (no spool) when it could not be stored now."""
        if self._task is not None and self._task.done():
            raise WriterFailed("the writer is not running")
        batch.key_rows()  # keys are given once: a retry or replay keeps them
        future = asyncio.get_running_loop().create_future()
        await self._queue.put((batch, future))
        if self._task is not None and self._task.done():
            self._fail_queued("the writer is not running")
        await future

    def _fail_queued(self, reason: str) -> None:
        while not self._queue.empty():
            _, future = self._queue.get_nowait()
            self._queue.task_done()
            if not future.done():
                future.set_exception(WriterFailed(reason))

    # -- the loop --

    async def _run(self) -> None:
        failures = 0
        while not self._stopping:
            self._start_probe()
            self._start_replay()
            group = await self._next_group()
            try:
                if group:
                    await self._serve(group)
                failures = 0
            except Exception:
                failures += 1
                await self._recover(failures, "the batches in hand fail, it goes on")
            finally:
                for _, future in group:
                    if not future.done():
                        future.set_exception(WriterFailed("internal error in the writer"))
                    self._queue.task_done()

    async def _next_group(self) -> list[tuple[Batch, asyncio.Future]]:
        try:
            first = await asyncio.wait_for(self._queue.get(), self.retry_interval_s)
        except TimeoutError:
            return []
        group = [first]
        rows = first[0].size()
        while rows < self.max_rows and not self._queue.empty():
            group.append(self._queue.get_nowait())
            rows += group[-1][0].size()
        return group

    def _replay_due(self) -> bool:
        return self.spool is not None and bool(self.spool) and not self._away

    def _start_replay(self) -> None:
        if self._replay_due() and (self._replayer is None or self._replayer.done()):
            self._replayer = asyncio.create_task(self._replay(), name="wattline-writer-replay")

    async def _replay(self) -> None:
        """Replay beside the live loop, so a live group (spooled while a backlog is left) is
        answered after its fsync, never after a replay chunk's commit."""
        failures = 0
        while self._replay_due() and not self._stopping:
            try:
                await self.replay.step()
                failures = 0
            except Exception:
                failures += 1
                await self._recover(failures, "replay tries again")

    async def _recover(self, failures: int, then: str) -> None:
        """After an unexpected exception (being handled): log it, start from a new session,
        and back off a little longer each time it happens again."""
        log.exception("writer: unexpected failure; %s", then)
        async with self._db_lock:
            await self._drop_connection()
        await asyncio.sleep(min(0.05 * 2**failures, self.retry_interval_s))

    async def _serve(self, group: list[tuple[Batch, asyncio.Future]]) -> None:
        if self._replay_due() and self.replay.closing():
            # Appended behind a replay that has nearly caught up, live groups would keep the
            # spool from ever running dry: let the replay finish, then commit directly.
            self._start_replay()
            await asyncio.wait({self._replayer}, timeout=self.commit_timeout_s)
        if self.spool is not None and (self._away or self.spool):
            await self._to_spool(group)
        else:
            await self._commit_group(group)

    async def _commit_group(self, group: list[tuple[Batch, asyncio.Future]]) -> None:
        """Commit the group; if the database refuses it, halves until only the refused batches
        are left (a refused batch among n costs about 2 log2 n extra transactions)."""
        try:
            await self.attempt([batch for batch, _ in group])
        except DatabaseAway as exc:
            await self._to_spool(group, exc)
            return
        except Exception as exc:
            if len(group) > 1:
                half = len(group) // 2
                await self._commit_group(group[:half])
                await self._commit_group(group[half:])
                return
            _, future = group[0]
            if not future.done():
                future.set_exception(BatchRefused.because(exc))
            return
        for _, future in group:
            if not future.done():
                future.set_result(None)

    async def _to_spool(self, group, away: Exception | None = None) -> None:
        if self.spool is None:
            for _, future in group:
                if not future.done():
                    future.set_exception(DatabaseAway(str(away or "database unreachable")))
            return
        try:
            problems = await asyncio.to_thread(self._append, [batch for batch, _ in group])
        except SpoolFull as exc:
            if not self._spool_full:  # once, not for every group while it lasts
                log.error("writer: %s; nothing is confirmed until there is room", exc)
            self._spool_full = self._spool_refused = True
            for _, future in group:
                if not future.done():
                    future.set_exception(SpoolFull(str(exc)))
            return
        if self._spool_full:
            log.warning("writer: the spool takes writes again")
        self._spool_full = False
        for (_, future), problem in zip(group, problems, strict=True):
            if future.done():
                continue
            if problem is None:
                future.set_result(None)
            else:
                future.set_exception(BatchRefused(f"cannot be spooled: {problem}"))

    def _append(self, batches: list[Batch]) -> list[str | None]:
        """Spool the batches (on a worker thread: encoding a large group takes a while)."""
        assert self.spool is not None
        records, problems = [], []
        for batch in batches:
            try:
                records.append(spool_format.dump(batch.to_document()))
                problems.append(None)
            except (ValueError, TypeError) as exc:
                problems.append(str(exc))
        if records:
            self.spool.append(records)
        return problems

    # -- the database --

    async def attempt(self, batches: list[Batch], *, careful: bool = False) -> None:
        """Commit ``batches`` as one transaction. Raises DatabaseAway when the database is not
        there (the batches are then marked unsure), anything else when it refused them."""
        if len(batches) == 1:
            merged = batches[0]
        else:
            merged = Batch()
            for batch in batches:
                merged.extend(batch)
        async with self._db_lock:
            await self._attempt(batches, merged, careful or merged.unsure)

    async def _attempt(self, batches: list[Batch], merged: Batch, careful: bool) -> None:
        conn = await self._connection()
        try:
            await asyncio.wait_for(self._commit(conn, merged, careful), self.commit_timeout_s)
        except Exception as exc:
            if _is_away(exc, conn):
                for batch in batches:
                    batch.unsure = True
                await self.mark_away(exc)
                raise DatabaseAway(str(exc).strip() or type(exc).__name__) from exc
            if conn.broken or conn.info.transaction_status != pq.TransactionStatus.IDLE:
                await self._drop_connection()  # never reuse a session left mid-way
            raise

    async def _connection(self) -> psycopg.AsyncConnection:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        if self._away:
            raise DatabaseAway("database unreachable; the probe will reconnect")
        try:
            self._conn = await self._open()
        except Exception as exc:
            await self.mark_away(exc)
            raise DatabaseAway(str(exc).strip() or type(exc).__name__) from exc
        return self._conn

    async def _open(self) -> psycopg.AsyncConnection:
        dsn = db.writer_dsn(self.dsn, statement_timeout_s=self.statement_timeout_s)

        async def setup() -> psycopg.AsyncConnection:
            conn = await psycopg.AsyncConnection.connect(dsn, connect_timeout=CONNECT_TIMEOUT_S)
            try:
                await conn.execute(queries.get("create_staging"))
                await conn.execute(queries.get("create_replay_staging"))
                await conn.execute(queries.get("identify_writer"), {"writer": self.writer_id})
                await conn.commit()
            except BaseException:
                await conn.close()
                raise
            return conn

        return await asyncio.wait_for(setup(), CONNECT_TIMEOUT_S + self.commit_timeout_s)

    async def mark_away(self, exc: Exception) -> None:
        """Treat the database as away (spool; the probe reconnects after retry_interval_s)."""
        if not self._away:
            log.warning(
                "database unreachable (%s); retrying every %g s", exc, self.retry_interval_s
            )
        self._away = True
        self._retry_at = asyncio.get_running_loop().time() + self.retry_interval_s
        await self._drop_connection()

    def _start_probe(self) -> None:
        if not self._away or (self._probe is not None and not self._probe.done()):
            return
        if asyncio.get_running_loop().time() >= self._retry_at:
            self._probe = asyncio.create_task(self._reconnect(), name="wattline-writer-probe")

    async def _reconnect(self) -> None:
        try:
            conn = await self._open()
        except Exception as exc:
            log.debug("database still unreachable: %s", exc)
            self._retry_at = asyncio.get_running_loop().time() + self.retry_interval_s
            return
        self._conn, self._away = conn, False
        log.info("database reachable again")
        self._start_replay()

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.closed:
            try:
                await asyncio.wait_for(conn.close(), 2)
            except Exception:
                log.debug("closing a broken connection failed", exc_info=True)

    async def _commit(self, conn: psycopg.AsyncConnection, batch: Batch, careful: bool) -> None:
        plans: list[tuple[SeriesCache, Plan]] = []
        started = time.monotonic()
        async with conn.transaction():
            async with conn.cursor() as cur:
                for target, rows in batch.rows.items():
                    cache = self._caches.get(target)
                    if cache is not None:
                        plans.append((cache, await self._write_series(conn, cur, cache, rows)))
                        continue
                    table, columns, merge = TARGETS[target]
                    if target == "ingest_rejects":
                        rows = _first_of_each_key(rows)
                    if target == "ocpp_messages" and careful:
                        await self._write_keyed(conn, cur, target, rows)
                        continue
                    if target == "ingest_rejects":
                        table, merge = REPLAY_KEYED[target]
                    await _copy(cur, table, columns, rows)
                    if merge:
                        await cur.execute(queries.get(merge))
                if batch.statements:
                    # Current-state updates come a few per message: pipelined, they cost
                    # one round trip for the whole group instead of one each.
                    async with conn.pipeline():
                        for query, params in batch.statements:
                            await cur.execute(queries.get(query), params)
        for cache, plan in plans:
            cache.commit(plan)
            self.rows_direct += len(plan.fast)
            self.rows_merged += len(plan.staged)
            self.series_read += plan.probed
        self.commits += 1
        metrics.committed(batch.rows, time.monotonic() - started)

    @staticmethod
    async def _write_keyed(conn, cur, target: str, rows: list[tuple]) -> None:
        """Rows that may be stored already (a replay, a retry): most are not, and a plain COPY
        costs far less than the merge, so COPY first; the unique index on the replay key
        refuses it if any is there, and only then does the merge sort them out."""
        table, columns, _ = TARGETS[target]
        try:
            async with conn.transaction():  # a savepoint: the merge can still take them all
                await _copy(cur, table, columns, rows)
                return
        except psycopg.errors.UniqueViolation:
            pass
        stage, merge = REPLAY_KEYED[target]
        await _copy(cur, stage, columns, rows)
        await cur.execute(queries.get(merge))

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
            except (psycopg.DataError, psycopg.ProgrammingError, TypeError, ValueError,
                    OverflowError):  # fmt: skip
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


def _is_away(exc: BaseException, conn: psycopg.AsyncConnection) -> bool:
    """Whether ``exc`` says the database is not there now, rather than that it refused."""
    if isinstance(exc, (TimeoutError, OSError, DatabaseAway)) or conn.closed or conn.broken:
        return True
    if not isinstance(exc, psycopg.Error):
        return False
    if exc.sqlstate is None:
        return isinstance(exc, psycopg.OperationalError)
    if exc.sqlstate == "57014":  # query_canceled: a timeout, or our own failed COPY
        return "timeout" in str(exc)
    return exc.sqlstate[:2] in AWAY_CLASSES


def _first_of_each_key(rows: list[tuple]) -> list[tuple]:
    seen: set = set()
    return [row for row in rows if not (row[-1] in seen or seen.add(row[-1]))]


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
        # ``await write_row`` per row costs more than formatting the row. Sending a block
        # rarely has to wait, so without a yield now and then a replay chunk's COPY would
        # hold the loop (and every live answer) for all its rows.
        format_row, write = out.formatter.write_row, out.write
        for i, row in enumerate(rows, 1):
            if block := format_row(row):
                await write(block)
            if not i % YIELD_ROWS:
                await asyncio.sleep(0)
