"""Series rows for a message's records, in the column order of ingest.writer.TARGETS."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

from ingest import edge
from ingest.mqtt.payloads import Balance, Event, Health, Reading, Record
from ingest.mqtt.registry import Meter
from ingest.writer import Batch


def add_rows(batch: Batch, meter: Meter, records: list[Record], received_at: datetime) -> list[str]:
    """Add a row per record; returns a reason for each reading that has no register to go to."""
    refused: list[str] = []
    for r in records:
        if isinstance(r, Reading):
            register = meter.registers.get(r.element)
            if register is None:
                refused.append(f"meter has no enabled register for element {r.element}")
                continue
            imp, exp, imp_w, exp_w = r.import_wh, r.export_wh, r.import_w, r.export_w
            if register.direction_reversed:
                # Fitted the wrong way round (often solar): what it counts as import is export.
                imp, exp, imp_w, exp_w = exp, imp, exp_w, imp_w
            batch.add(
                "register_readings",
                (r.ts, received_at, register.register_id, meter.meter_id, r.element,
                 imp, exp, imp_w, exp_w, "ok"),
            )  # fmt: skip
        elif isinstance(r, Balance):
            batch.add(
                "meter_prepay_balance",
                (r.ts, received_at, meter.meter_id, r.balance, r.emergency_credit),
            )
        elif isinstance(r, Health):
            batch.add(
                "meter_health",
                (r.ts, received_at, meter.meter_id, r.csq, r.clock_time_diff_seconds, r.voltage),
            )
        elif isinstance(r, Event):
            batch.add(
                "meter_event_log",
                (r.ts, received_at, meter.meter_id, r.event_type, r.severity, r.details),
            )
    return refused


MAX_REASON_CHARS = 1000  # a reason quotes the sender's values; the payload is kept in full


def reject(batch: Batch, topic: str, reason: str, payload: bytes, received_at: datetime) -> None:
    """A reject row that PostgreSQL takes whatever the message held (Batch.reject escapes the
    topic, the reason, which may quote the payload, and the payload, where text cannot hold
    them; bytes that are not UTF-8 are written as \\xff escapes), keyed by its content."""
    reason = reason[:MAX_REASON_CHARS]
    batch.reject(
        "mqtt",
        topic,
        reason,
        payload.decode("utf-8", errors="backslashreplace"),
        replay_key=replay_key(topic, reason, payload),
        at=received_at,
    )


def replay_key(topic: str, reason: str, payload: bytes) -> uuid.UUID:
    """The same refusal of the same message, whenever it arrives, has the same key: a QoS 1
    duplicate, or a message the broker delivers again because its acknowledgement was lost,
    is one reject row. The reason tells apart the rejects of one message (each names its
    record). Escaped as stored, so neither holds NUL (the separator) or a lone surrogate."""
    text = (edge.pg_text(topic).encode(), edge.pg_text(reason).encode(), payload)
    digest = hashlib.sha256(b"\0".join(text)).digest()
    return uuid.UUID(bytes=digest[:16], version=5)
