"""An append-only, fsynced file of batches the database could not take yet.

While the database is unreachable, the writer appends each batch here and only then confirms
it, so nothing acknowledged is lost. When the database returns, batches are replayed in the
order they were written and the file is removed. One JSON document per line; values that JSON
has no type for are tagged (see ``encode``)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any


def encode(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in a batch: every time must carry a time zone")
        return {"$t": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$d": str(value)}
    if isinstance(value, uuid.UUID):
        return {"$u": str(value)}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {"$o": {k: encode(v) for k, v in value.items()}}
    return value


def decode(value: Any) -> Any:
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        ((tag, inner),) = value.items()
        if tag == "$t":
            return datetime.fromisoformat(inner)
        if tag == "$d":
            return Decimal(inner)
        if tag == "$u":
            return uuid.UUID(inner)
        if tag == "$o":
            return {k: decode(v) for k, v in inner.items()}
        raise ValueError(f"unknown spool tag {tag!r}")
    return value


class Spool:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def __bool__(self) -> bool:
        return self.path.exists() and self.path.stat().st_size > 0

    def append(self, documents: list[Any]) -> None:
        """Append documents and fsync before returning."""
        data = "".join(json.dumps(encode(d), separators=(",", ":")) + "\n" for d in documents)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, data.encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def read(self) -> Iterator[Any]:
        """Documents in the order they were appended. A torn last line (a crash mid-write,
        never confirmed to anyone) is skipped."""
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as f:
            for line in f:
                if not line.endswith("\n"):
                    return
                yield decode(json.loads(line))

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
