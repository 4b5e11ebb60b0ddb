"""How the spool stores a document: JSON with tagged values, framed as a checked record.

A record is a header line ``@wl <length> <crc32 in hex>`` then ``length`` bytes of JSON and a
newline. The length says where the record ends without trusting its contents; the checksum says
whether the bytes are the ones written. The JSON never holds a
raw newline. After damage the next record is found by looking for the next ``@wl `` whose record
checks out (a false match would need a matching CRC32 too); a torn record is followed by the next
one without a newline between them, so the search does not ask for one.
"""

from __future__ import annotations

import json
import re
import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import IO, Any

MAGIC = b"@wl "
MAX_HEADER = 32  # "@wl " + up to 10 digits + " " + 8 hex + "\n"
MAX_RECORD = 256 * 2**20  # no batch is near this; a larger length is damage
_HEADER = re.compile(rb"@wl (\d{1,10}) ([0-9a-f]{8})\n\Z")
_BLOCK = 1 << 16


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


def dump(document: Any) -> bytes:
    """One framed record. ensure_ascii keeps lone surrogates as escapes, and the JSON on one
    line (json escapes newlines inside strings)."""
    payload = json.dumps(encode(document), separators=(",", ":")).encode("ascii")
    return b"%s%d %08x\n%s\n" % (MAGIC, len(payload), zlib.crc32(payload), payload)


def load(payload: bytes) -> Any:
    return decode(json.loads(payload))


@dataclass(frozen=True)
class Record:
    start: int
    end: int
    payload: bytes


@dataclass(frozen=True)
class Damage:
    """Bytes that are no record: [start, end). ``end`` is the next good record or end of file."""

    start: int
    end: int


def record_at(f: IO[bytes], pos: int, size: int) -> Record | None:
    """The record starting at ``pos`` if it is whole and checks out."""
    f.seek(pos)
    header = f.readline(MAX_HEADER)
    match = _HEADER.match(header)
    if match is None:
        return None
    length, crc = int(match[1]), int(match[2], 16)
    end = pos + len(header) + length + 1
    if length > MAX_RECORD or end > size:
        return None
    payload = f.read(length)
    if f.read(1) != b"\n" or zlib.crc32(payload) != crc:
        return None
    return Record(pos, end, payload)


def next_record(f: IO[bytes], pos: int, size: int) -> int:
    """Where the first good record after ``pos`` starts, or ``size``."""
    search = pos
    while search < size:
        f.seek(search)
        block = f.read(_BLOCK + len(MAGIC))
        at = block.find(MAGIC, 1 if search == pos else 0)
        while at != -1:
            candidate = search + at
            if record_at(f, candidate, size) is not None:
                return candidate
            at = block.find(MAGIC, at + 1)
        search += _BLOCK
    return size


def scan(f: IO[bytes], pos: int, size: int):
    """Records and damage from ``pos`` to ``size``, in file order, reading as it goes."""
    while pos < size:
        record = record_at(f, pos, size)
        if record is not None:
            yield record
            pos = record.end
            continue
        end = next_record(f, pos, size)
        yield Damage(pos, end)
        pos = end
