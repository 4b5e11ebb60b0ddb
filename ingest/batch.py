"""What producers hand the writer: rows per target and current-state statements.

``ocpp_messages`` and ``ingest_rejects`` have no natural key, so each of their rows carries a
replay key (migration 0017): the writer gives a row one when its batch is first handed over
(``Writer.write``) and the row keeps it, with its time, through every retry and spool replay, so
a second copy of the row is dropped by ``ON CONFLICT``. A producer may bring its own key for a
reject (``Batch.reject(..., replay_key=...)``): a digest of what it refused, so that the same
bad message delivered twice is one reject row (for ``ingest_rejects`` the key alone decides,
whatever the time; see ``merge_ingest_rejects``).
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg

from ingest.edge import pg_text
from sql import queries

log = logging.getLogger(__name__)

# target -> (table COPY goes into, its columns, the merge query run after the COPY or None)
TARGETS: dict[str, tuple[str, tuple[str, ...], str | None]] = {
    "meter_values": (
        "pg_temp.stage_meter_values",
        ("time", "received_at", "charge_point_id", "connector_id", "transaction_id", "measurand",
         "phase", "location", "context", "unit", "value", "quality"),
        "merge_meter_values",
    ),
    "register_readings": (
        "pg_temp.stage_register_readings",
        ("time", "received_at", "register_id", "meter_id", "element", "import_wh", "export_wh",
         "import_w", "export_w", "quality"),
        "merge_register_readings",
    ),
    "status_notifications": (
        "pg_temp.stage_status_notifications",
        ("time", "received_at", "charge_point_id", "connector_id", "status", "error_code", "info",
         "vendor_id", "vendor_error_code"),
        "merge_status_notifications",
    ),
    "meter_prepay_balance": (
        "pg_temp.stage_meter_prepay_balance",
        ("time", "received_at", "meter_id", "balance", "emergency_credit"),
        "merge_meter_prepay_balance",
    ),
    "meter_health": (
        "pg_temp.stage_meter_health",
        ("time", "received_at", "meter_id", "csq", "clock_time_diff_seconds", "voltage"),
        "merge_meter_health",
    ),
    "meter_event_log": (
        "pg_temp.stage_meter_event_log",
        ("time", "received_at", "meter_id", "event_type", "severity", "details"),
        "merge_meter_event_log",
    ),
    # Live frames are COPYed straight in (their keys are new); see REPLAY_KEYED for the rest.
    "ocpp_messages": (
        "wattline.ocpp_messages",
        ("time", "charge_point_id", "direction", "message_type", "message_id", "action",
         "payload", "raw", "replay_key"),
        None,
    ),
    "ingest_rejects": (
        "wattline.ingest_rejects",
        ("time", "source", "key", "reason", "raw", "replay_key"),
        None,
    ),
}  # fmt: skip

# target -> (staging table, merge): the path rows take when they may be stored already (a
# replay, a retry after a commit whose outcome was unknown), and always for rejects, whose
# producer-given keys may repeat.
REPLAY_KEYED: dict[str, tuple[str, str]] = {
    "ocpp_messages": ("pg_temp.stage_ocpp_messages", "merge_ocpp_messages"),
    "ingest_rejects": ("pg_temp.stage_ingest_rejects", "merge_ingest_rejects"),
}


def replay_key() -> uuid.UUID:
    """A new key, time-ordered like a UUIDv7 (48 bits of milliseconds, then random), so the
    unique index grows at its right edge instead of at random pages."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & (2**48 - 1)) << 80 | 0x7 << 76 | (rand >> 64 & 0xFFF) << 64
    return uuid.UUID(int=value | 0b10 << 62 | rand & (2**62 - 1))


@dataclass
class Batch:
    """Rows per target (tuples in TARGETS' column order; for REPLAY_KEYED targets the key may be
    left off, and the writer adds it) and named-query statements that run in the same
    transaction after the rows are merged (current-state updates)."""

    rows: dict[str, list[tuple]] = field(default_factory=dict)
    statements: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # Set when a commit holding this batch failed without knowing whether it committed: its
    # keyed rows then take the merge, never a plain COPY, the next time.
    unsure: bool = field(default=False, compare=False, repr=False)

    def add(self, target: str, row: tuple) -> None:
        width = len(TARGETS[target][1])
        if len(row) != width and not (target in REPLAY_KEYED and len(row) == width - 1):
            raise ValueError(f"{target}: expected {width} values, got {len(row)}")
        self.rows.setdefault(target, []).append(row)

    def reject(
        self,
        source: str,
        key: str | None,
        reason: str,
        raw: str,
        *,
        replay_key: uuid.UUID | None = None,
        at: datetime | None = None,
    ) -> None:
        """An ``ingest_rejects`` row; text made storable whatever it holds (NUL, lone
        surrogates). ``replay_key``: the producer's own, e.g. a digest of what it refused."""
        row = (at or datetime.now(UTC), source, key and pg_text(key), pg_text(reason), pg_text(raw))
        self.add("ingest_rejects", row if replay_key is None else (*row, replay_key))

    def run(self, query: str, params: dict[str, Any]) -> None:
        queries.get(query)  # fail now, at the caller, on a misspelt name
        self.statements.append((query, params))

    def extend(self, other: Batch) -> None:
        self.extend_rows(other)
        self.statements.extend(other.statements)
        self.unsure = self.unsure or other.unsure

    def extend_rows(self, other: Batch) -> None:
        for target, rows in other.rows.items():
            self.rows.setdefault(target, []).extend(rows)

    def size(self) -> int:
        return sum(len(r) for r in self.rows.values()) + len(self.statements)

    def key_rows(self) -> None:
        """Give every REPLAY_KEYED row without a key a new one, in place, once."""
        for target in REPLAY_KEYED:
            rows = self.rows.get(target)
            if not rows:
                continue
            width = len(TARGETS[target][1])
            for i, row in enumerate(rows):
                if len(row) < width:
                    rows[i] = (*row, replay_key())

    def to_document(self) -> dict:
        return {"rows": self.rows, "statements": self.statements}

    @classmethod
    def from_document(cls, doc: dict) -> Batch:
        return cls(
            rows={t: [tuple(r) for r in rows] for t, rows in doc["rows"].items()},
            statements=[(q, p) for q, p in doc["statements"]],
        )


class BatchRefused(Exception):
    """The database (or the way to it) refused this batch's data; other batches are unharmed."""

    @classmethod
    def because(cls, exc: BaseException) -> BatchRefused:
        """The database's own words; for anything else Python raised on the way, its name and
        message, and a traceback in the log (it may be a bug of ours)."""
        if isinstance(exc, psycopg.Error):
            return cls(str(exc).strip())
        log.warning("a batch was refused on the way to the database", exc_info=exc)
        return cls(f"{type(exc).__name__}: {exc}")


class DatabaseAway(ConnectionError):
    """The database cannot be reached now (and there is no spool to fall back on)."""


class WriterFailed(Exception):
    """The writer could not store this batch for a reason of its own (a bug, a stop); the
    caller may try again."""
