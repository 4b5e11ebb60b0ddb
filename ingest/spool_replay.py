"""Bringing the spool home once the database is back.

Each step reads spooled documents from the committed offset on, decoded on a worker thread, and
commits them as one transaction; the keyed rows (frames) are COPYed straight in, and merged only
if the unique index says some are stored already (a commit whose answer was lost, a replay cut
short). The writer runs the steps in a task beside its live loop. A chunk's size follows the
pace of the chunks before it (CHUNK_LOOP_S, CHUNK_WALL_S): large enough that a transaction's
fixed costs do not dominate, small enough that the loop thread's share of it does not hold up
live answers. Then the offset is recorded, so a restart goes on from there.

A chunk the database refuses is halved until the refused documents are found; each is
quarantined (the spool's quarantine file, and an ``ingest_rejects`` row with the reason and the
document, keyed by its digest so a second replay does not add another) and skipped, and the rest
are committed in order. Damaged records are quarantined by the spool as it reads them.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from typing import Any

from ingest import spool_format
from ingest.batch import Batch, BatchRefused, DatabaseAway
from ingest.spool import Chunk

log = logging.getLogger(__name__)

# What a chunk may cost. The loop thread formats a chunk's COPY itself (live messages wait
# meanwhile): CHUNK_LOOP_S of its time. The database's part is a wait live answers do not share,
# except the live groups that wait for the last chunk once the replay has nearly caught up: a
# chunk is kept within CHUNK_WALL_S. A larger chunk pays a transaction's fixed costs less often.
CHUNK_LOOP_S = 0.1
CHUNK_WALL_S = 0.5
FIRST_CHUNK_ROWS = 1_000


def _weight(document: Any) -> int:
    try:
        return sum(map(len, document["rows"].values())) + len(document["statements"])
    except (KeyError, TypeError, AttributeError):
        return 1  # not a batch: found (and quarantined) when it is read as one


class Replay:
    def __init__(self, writer) -> None:
        self.writer = writer
        # Rows a chunk may hold: sized from the pace of the chunks before to fit CHUNK_LOOP_S
        # and CHUNK_WALL_S, and halved each time a chunk fails for want of the database,
        # so a chunk too large to commit within the statement timeout cannot block replay.
        self.budget = min(writer.max_rows, FIRST_CHUNK_ROWS)
        self.bytes_per_row = 300.0  # of the spool, learnt from each chunk read
        self._ahead: asyncio.Future | None = None  # the next chunk, read during a commit

    def closing(self) -> bool:
        """Whether what is left of the backlog fits in the next chunk."""
        spool = self.writer.spool
        return spool.backlog_bytes <= self.budget * self.bytes_per_row

    async def step(self) -> None:
        writer, spool = self.writer, self.writer.spool
        ahead, self._ahead = self._ahead, None
        read = await ahead if ahead is not None else None
        if read is None or read[0].start != spool.offset:  # read ahead before a failure
            read = await asyncio.to_thread(self._read, spool.offset)
        chunk, items, refused = read
        began, loop_began = time.perf_counter(), time.thread_time()
        try:
            for document, start, reason in refused:
                await self._quarantine(document, start, reason)
            if chunk.end < spool.size:  # read the next chunk while this one commits
                self._ahead = asyncio.ensure_future(asyncio.to_thread(self._read, chunk.end))
            await self._commit(items)
        except DatabaseAway:
            # The offset stays: this chunk is replayed again once the database is back.
            self.budget = max(1, self.budget // 2)
            return
        rows = sum(batch.size() for batch, _ in items)
        if rows and not refused:
            loop_s = max(time.thread_time() - loop_began, 1e-3)
            wall_s = max(time.perf_counter() - began, 1e-3)
            fits = min(rows / loop_s * CHUNK_LOOP_S, rows / wall_s * CHUNK_WALL_S)
            # Halfway to the size the last chunk's pace asks for: one slow commit (a checkpoint,
            # a busy machine) does not swing the next chunk's size all the way.
            wanted = (self.budget + fits) / 2
            self.budget = max(1, min(writer.max_rows, int(wanted), self.budget * 2))
        await asyncio.to_thread(spool.commit, chunk.end)
        writer.replayed += len(items)
        if not spool:
            log.info("spool %s replayed", spool.path)

    def _read(
        self, start: int
    ) -> tuple[Chunk, list[tuple[Batch, int]], list[tuple[Any, int, str]]]:
        """The chunk at ``start``, decoded into batches (on a worker thread: the loop answers
        live messages meanwhile)."""
        chunk = self.writer.spool.read(_weight, self.budget, start)
        weight = sum(_weight(document) for document, _ in chunk.documents)
        if weight:
            self.bytes_per_row = (chunk.end - start) / weight
        items, refused = [], []
        for document, start in chunk.documents:
            try:
                batch = Batch.from_document(document)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                refused.append((document, start, f"not a batch: {exc!r}"))
                continue
            batch.key_rows()  # documents spooled before replay keys existed
            items.append((batch, start))
        return chunk, items, refused

    async def _commit(self, items: list[tuple[Batch, int]]) -> None:
        if not items:
            return
        try:
            await self.writer.attempt([batch for batch, _ in items], careful=True)
        except DatabaseAway:
            raise
        except Exception as exc:
            if len(items) > 1:
                half = len(items) // 2
                await self._commit(items[:half])
                await self._commit(items[half:])
                return
            batch, start = items[0]
            await self._quarantine(batch.to_document(), start, str(BatchRefused.because(exc)))

    async def _quarantine(self, document: Any, start: int, reason: str) -> None:
        writer, spool = self.writer, self.writer.spool
        log.error("spool %s: the document at %d was refused (%s); quarantined", spool.path,
                  start, reason)  # fmt: skip
        await asyncio.to_thread(spool.refused, start, reason, document)
        raw = spool_format.to_json(document)
        reject = Batch()
        reject.reject(
            "spool",
            f"{spool.path.name}@{start}",
            f"refused on replay: {reason}",
            raw,
            replay_key=uuid.UUID(bytes=hashlib.sha256(raw.encode()).digest()[:16]),
        )
        try:
            await writer.attempt([reject], careful=True)
        except DatabaseAway:
            raise
        except Exception as exc:
            # Not this document's fault, then, but the database's (a missing migration, ...):
            # stop here and try again later rather than quarantine the whole spool.
            log.exception("spool %s: even the reject row for %d was refused", spool.path, start)
            await writer.mark_away(exc)
            raise DatabaseAway(str(exc)) from exc
        writer.quarantined += 1
