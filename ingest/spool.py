"""An append-only, fsynced file of batches the database could not take yet.

While the database is unreachable (or while older spooled batches are still being replayed),
the writer appends each batch here and only then confirms it, so nothing acknowledged is lost.
Records are framed and checksummed (ingest/spool_format.py). Beside the spool:

- ``<spool>.offset``: how far replay has committed, written atomically after every committed
  chunk, so a restart resumes there. It names the spool file's inode: a new spool file starts
  from 0, never from a stale offset.
- ``<spool>.quarantine``: what could not be replayed, one JSON line each: damaged bytes (in
  ``data``, one character per byte: ``data.encode("latin-1")`` gives them back) and documents
  the database refused, as JSON (those are in ``ingest_rejects`` too).

On open, a torn tail (a crash mid-append, never confirmed to anyone) is cut off, so a later
append cannot leave it in the middle; damage in the middle is found by replay, quarantined and
skipped. Appends past ``max_bytes``, or that the disk refuses (ENOSPC, EIO, ...), raise
``SpoolFull``: nothing is confirmed until there is room again. Once replay has committed
everything the files are removed.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest import spool_format
from ingest.spool_format import Damage, Record

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 2**30


class SpoolFull(Exception):
    """The spool cannot take more now (over its cap, or the disk refused the write)."""


@dataclass
class Chunk:
    """Documents read for one replay transaction: (document, where its record starts)."""

    documents: list[tuple[Any, int]] = field(default_factory=list)
    start: int = 0  # where it was read from
    end: int = 0  # the offset to record once they are committed


class Spool:
    def __init__(self, path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.offset_path = self.path.with_name(self.path.name + ".offset")
        self.quarantine_path = self.path.with_name(self.path.name + ".quarantine")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.size = 0
        self.offset = 0  # committed by replay
        self.documents = 0  # records not replayed yet (for /metrics)
        self._read_records: dict[int, int] = {}  # a chunk's end -> records read into it
        self._checked = 0  # damage before this was quarantined already (by this process)
        # Appends (the live path) and replay's commits run on different threads: a commit must
        # not remove the file between an append's open and its write.
        self._lock = threading.Lock()
        self._offset_lock = threading.Lock()
        self._open()

    def __bool__(self) -> bool:
        """Whether there is a backlog to replay."""
        return self.offset < self.size

    @property
    def backlog_bytes(self) -> int:
        return self.size - self.offset

    # -- opening --

    def _open(self) -> None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self.offset_path.unlink(missing_ok=True)
            return
        self.size = stat.st_size
        self.offset, self._checked = self._read_offset(stat.st_ino)
        with self.path.open("rb") as f:
            if self.size and f.read(1) == b"{":
                f.close()
                self._upgrade()
                return
            last = None
            for item in spool_format.scan(f, self.offset, self.size):
                last = item
                self.documents += isinstance(item, Record)
            if isinstance(last, Damage) and last.end == self.size:
                self._cut_tail(f, last.start)
        if self.offset >= self.size:
            self._remove()

    def _read_offset(self, inode: int) -> tuple[int, int]:
        """The committed offset, and how far damage was quarantined already."""
        try:
            offset, of_inode, checked = (int(v) for v in self.offset_path.read_text().split())
        except (FileNotFoundError, ValueError):
            return 0, 0
        if of_inode != inode or not 0 <= offset <= self.size:
            return 0, 0
        return offset, max(offset, checked)

    def _cut_tail(self, f, start: int) -> None:
        f.seek(start)
        torn = f.read(self.size - start)
        self._quarantine(start, "torn record at the end of the spool (never confirmed)", torn)
        with self.path.open("r+b") as out:
            out.truncate(start)
            os.fsync(out.fileno())
        log.warning("spool %s: cut a torn last record (%d bytes)", self.path, len(torn))
        self.size = start

    def _upgrade(self) -> None:
        """A spool of one JSON document a line (before records were framed): reframe it."""
        documents, at = [], 0
        for line in self.path.read_bytes().split(b"\n")[:-1]:  # the last: torn, or empty
            try:
                documents.append(spool_format.load(line))
            except ValueError as exc:
                self._quarantine(at, f"undecodable: {exc}", line)
            at += len(line) + 1
        staging = self.path.with_name(self.path.name + ".new")
        staging.write_bytes(b"".join(map(spool_format.dump, documents)))
        _fsync_file(staging)
        os.replace(staging, self.path)
        _fsync_dir(self.path.parent)
        self.offset_path.unlink(missing_ok=True)
        self.size, self.offset, self._checked = self.path.stat().st_size, 0, 0
        log.warning(
            "spool %s: reframed %d document(s) of the old format", self.path, len(documents)
        )

    # -- appending --

    def append(self, records: list[bytes]) -> None:
        """Append framed records (spool_format.dump) and fsync before returning."""
        data = b"".join(records)
        with self._lock:
            self._append(data)
            self.documents += len(records)

    def _append(self, data: bytes) -> None:
        if self.size + len(data) > self.max_bytes:
            raise SpoolFull(
                f"the spool is full ({self.size + len(data)} bytes > {self.max_bytes}, "
                "WATTLINE_SPOOL_MAX_BYTES)"
            )
        created = not self.path.exists()
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise SpoolFull(f"cannot open the spool {self.path}: {exc.strerror}") from exc
        try:
            start = os.fstat(fd).st_size
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
                if created:
                    _fsync_dir(self.path.parent)  # else a crash may forget the file exists
            except OSError as exc:
                _truncate_quietly(fd, start)  # a half-written record must not stay behind
                raise SpoolFull(f"cannot write the spool {self.path}: {exc.strerror}") from exc
        finally:
            os.close(fd)
        self.size = start + len(data)

    # -- replaying --

    def read(self, weigh: Callable[[Any], int], budget: int, start: int | None = None) -> Chunk:
        """Documents from ``start`` (the committed offset) on, until their weight reaches
        ``budget``. Damage on the way is quarantined and skipped (the chunk's end moves past
        it). Replay reads the next chunk while the one before commits: from its end, which the
        spool is never removed at while there is more after it."""
        start = self.offset if start is None else start
        chunk = Chunk(start=start, end=start)
        weight = records = 0
        if not self.path.exists():  # removed by hand: nothing left to replay
            log.error("spool %s: removed while %d bytes were left", self.path, self.backlog_bytes)
            self.size = self.offset = self._checked = self.documents = 0
            return chunk
        with self.path.open("rb") as f:
            for item in spool_format.scan(f, start, self.size):
                if isinstance(item, Damage):
                    self._damaged(f, item)
                    chunk.end = item.end
                    continue
                assert isinstance(item, Record)
                records += 1
                try:
                    document = spool_format.load(item.payload)
                except (ValueError, KeyError, TypeError) as exc:
                    # A record that checks out but does not decode was written by a bug.
                    if item.start >= self._checked:
                        self._quarantine(item.start, f"undecodable: {exc}", item.payload)
                        self._checked = item.end
                        self._write_offset()
                    chunk.end = item.end
                    continue
                chunk.documents.append((document, item.start))
                chunk.end = item.end
                weight += weigh(document)
                if weight >= budget:
                    break
        self._read_records[chunk.end] = records  # commit(chunk.end) counts them out
        return chunk

    def _damaged(self, f, damage: Damage) -> None:
        if damage.start < self._checked:
            return
        f.seek(damage.start)
        data = f.read(damage.end - damage.start)
        self._quarantine(damage.start, "damaged record (length or checksum wrong)", data)
        self._checked = damage.end
        self._write_offset()  # so that a restart does not quarantine it again
        log.error(
            "spool %s: %d damaged bytes at %d quarantined", self.path, len(data), damage.start
        )

    def refused(self, start: int, reason: str, document: Any) -> None:
        """A document the database refused on replay: kept in the quarantine file."""
        self._quarantine(start, reason, spool_format.to_json(document).encode())

    def commit(self, offset: int) -> None:
        """Replay committed everything before ``offset``: record it (or remove the spool)."""
        with self._lock:
            self.offset = offset
            self.documents = max(0, self.documents - self._read_records.pop(offset, 0))
            if self.offset >= self.size:
                self._remove()
                return
        self._write_offset()

    def _write_offset(self) -> None:
        inode = self.path.stat().st_ino
        staging = self.offset_path.with_name(self.offset_path.name + ".new")
        with self._offset_lock:  # a chunk's commit and damage found reading the next one
            self._record_offset(staging, inode)

    def _record_offset(self, staging: Path, inode: int) -> None:
        try:
            staging.write_text(f"{self.offset} {inode} {self._checked}\n")
            _fsync_file(staging)
            os.replace(staging, self.offset_path)
            _fsync_dir(self.path.parent)
        except OSError as exc:
            # Replay goes on: a restart would replay from the last offset recorded, which the
            # replay keys and merges make harmless, only slower.
            staging.unlink(missing_ok=True)
            log.warning("spool %s: replay progress not recorded: %s", self.path, exc.strerror)

    def _remove(self) -> None:
        # The offset goes first: a crash between the two replays the spool again (keys make
        # that harmless), never applies a stale offset to a new file.
        self.offset_path.unlink(missing_ok=True)
        self.path.unlink(missing_ok=True)
        self.size = self.offset = self._checked = self.documents = 0
        self._read_records.clear()

    def _quarantine(self, offset: int, reason: str, data: bytes) -> None:
        entry = {
            "at": datetime.now(UTC).isoformat(),
            "spool": str(self.path),
            "offset": offset,
            "reason": reason,
            "data": data.decode("latin-1"),  # byte for byte: records are binary
        }
        try:
            with self.quarantine_path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")
                f.flush()
                os.fsync(f.fileno())
        except OSError:
            log.exception("spool %s: could not write the quarantine file", self.path)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _truncate_quietly(fd: int, size: int) -> None:
    try:
        os.ftruncate(fd, size)
        os.fsync(fd)
    except OSError:
        log.exception("could not cut a half-written spool record")
