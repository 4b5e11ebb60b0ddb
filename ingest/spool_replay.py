"""Bringing the spool home once the database is back.

Each step reads spooled documents from the committed offset on, up to ``max_rows`` rows, and
commits them as one transaction, the keyed rows through their merges (they may be stored
already: a commit whose answer was lost, a replay cut short). The writer runs one step per turn
of its loop, so live groups go between chunks. Then the offset is recorded, so a restart goes
on from there.

A chunk the database refuses is halved until the refused documents are found; each is
quarantined (the spool's quarantine file, and an ``ingest_rejects`` row with the reason and the
document, keyed by its digest so a second replay does not add another) and skipped, and the rest
are committed in order. Damaged records are quarantined by the spool as it reads them.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from typing import Any

from ingest import spool_format
from ingest.batch import Batch, BatchRefused, DatabaseAway

log = logging.getLogger(__name__)


def _weight(document: Any) -> int:
    try:
        return sum(map(len, document["rows"].values())) + len(document["statements"])
    except (KeyError, TypeError, AttributeError):
        return 1  # not a batch: found (and quarantined) when it is read as one


class Replay:
    def __init__(self, writer) -> None:
        self.writer = writer
        # Rows a chunk may hold: halved each time a chunk fails for want of the database, so
        # a chunk too large to commit within the statement timeout cannot block replay.
        self.budget = writer.max_rows

    async def step(self) -> None:
        writer, spool = self.writer, self.writer.spool
        chunk = await asyncio.to_thread(spool.read, _weight, self.budget)
        items: list[tuple[Batch, int]] = []
        try:
            for document, start in chunk.documents:
                try:
                    batch = Batch.from_document(document)
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    await self._quarantine(document, start, f"not a batch: {exc!r}")
                    continue
                batch.key_rows()  # documents spooled before replay keys existed
                items.append((batch, start))
            await self._commit(items)
        except DatabaseAway:
            # The offset stays: this chunk is replayed again once the database is back.
            self.budget = max(1, self.budget // 2)
            return
        self.budget = min(writer.max_rows, self.budget * 2)
        await asyncio.to_thread(spool.commit, chunk.end)
        writer.replayed += len(items)
        if not spool:
            log.info("spool %s replayed", spool.path)

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
        raw = spool_format.dump(document).decode("ascii")
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
