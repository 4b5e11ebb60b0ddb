"""One MQTT message → one Batch: its rows, its shadow updates and a reject row per refusal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ingest.mqtt import payloads, rows, shadows, topics
from ingest.mqtt.payloads import Reading
from ingest.mqtt.registry import Registry, UnknownMeter
from ingest.writer import Batch


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    mid: int
    qos: int


class Handler:
    def __init__(self, registry: Registry, prefix: str, max_future: timedelta) -> None:
        self.registry = registry
        self.prefix = prefix
        self.max_future = max_future

    async def batch_for(self, msg: Message) -> Batch:
        """Raises only when the database cannot be reached (the caller retries); everything
        wrong with the message itself ends as rows in ingest_rejects."""
        now = datetime.now(UTC)
        batch = Batch()
        try:
            serial, kind = topics.parse(self.prefix, msg.topic)
        except ValueError as exc:
            rows.reject(batch, msg.topic, str(exc), msg.payload, now)
            return batch
        parsed = payloads.parse(kind, msg.payload, now, self.max_future)
        for reason in parsed.errors:
            rows.reject(batch, msg.topic, reason, msg.payload, now)
        if not parsed.records:
            return batch
        elements = frozenset(r.element for r in parsed.records if isinstance(r, Reading))
        try:
            meter = await self.registry.meter(serial, elements)
        except UnknownMeter as exc:
            rows.reject(batch, msg.topic, str(exc), msg.payload, now)
            return batch
        for reason in rows.add_rows(batch, meter, parsed.records, now):
            rows.reject(batch, msg.topic, reason, msg.payload, now)
        shadows.add_updates(batch, meter.meter_id, parsed.records, now)
        return batch

    @staticmethod
    def refused(msg: Message, reason: str) -> Batch:
        """The reject row for a message whose batch the database refused as a whole."""
        batch = Batch()
        rows.reject(batch, msg.topic, reason, msg.payload, datetime.now(UTC))
        return batch
