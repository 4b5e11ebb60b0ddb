"""MQTT messages → Batches: each message's rows, its shadow updates and a reject row per
refusal.

Messages are handled a group at a time, in two steps around one registry lookup: each payload
is parsed first (no I/O), then the meters of all of them that are not cached are looked up
together, then each message's rows are built. A message's handling costs no coroutine of its
own, and a fleet of meters heard for the first time costs a few queries, not a few each.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from ingest import edge
from ingest.mqtt import payloads, rows, shadows, topics
from ingest.mqtt.payloads import Parsed, Reading
from ingest.mqtt.registry import Meter, Registry, UnknownMeter
from ingest.writer import Batch
from wattline import logs

log = logging.getLogger(__name__)


class Message(NamedTuple):  # a tuple: made per message, cheaper than a frozen dataclass
    topic: str
    payload: bytes
    mid: int
    qos: int


@dataclass(slots=True)
class _Parsed:
    """A message between the two steps: its batch so far and what its meter must have."""

    msg: Message
    batch: Batch
    received_at: datetime
    serial: str | None = None  # None: nothing to look up (refused, or no records)
    parsed: Parsed | None = None
    elements: frozenset[str] = frozenset()


class Handler:
    def __init__(
        self,
        registry: Registry,
        prefix: str,
        max_future: timedelta,
        min_time: datetime = edge.DEFAULT_MIN_TIME,
    ) -> None:
        self.registry = registry
        self.prefix = prefix
        self.max_future = max_future
        self.min_time = min_time
        self.last_seen: dict[str, float] = {}  # serial -> monotonic time (registered meters)

    async def batches(self, messages: list[Message]) -> list[Batch]:
        """A Batch per message, in order. Raises only when the database cannot be reached (the
        caller retries); everything wrong with a message itself ends as rows in
        ingest_rejects."""
        now = datetime.now(UTC)
        parsed = [self._parse(msg, now) for msg in messages]
        wanted: dict[str, frozenset[str]] = {}
        for p in parsed:
            if p.serial is not None:
                wanted[p.serial] = wanted.get(p.serial, p.elements) | p.elements
        meters = await self.registry.meters(wanted) if wanted else {}
        return [self._finish(p, meters[p.serial]) if p.serial else p.batch for p in parsed]

    def _parse(self, msg: Message, now: datetime) -> _Parsed:
        state = _Parsed(msg, Batch(), now)
        try:
            serial, kind = topics.parse(self.prefix, msg.topic)
        except ValueError as exc:
            rows.reject(state.batch, msg.topic, str(exc), msg.payload, now)
            return state
        try:
            parsed = payloads.parse(kind, msg.payload, now, self.max_future, self.min_time)
        except Exception as exc:  # a bug must cost one message, never the process
            state.batch = self._failed(state, exc, serial)
            return state
        for reason in parsed.errors:
            rows.reject(state.batch, msg.topic, reason, msg.payload, now)
        if parsed.records:
            state.serial, state.parsed = serial, parsed
            state.elements = frozenset(r.element for r in parsed.records if isinstance(r, Reading))
        return state

    def _finish(self, state: _Parsed, meter: Meter | UnknownMeter) -> Batch:
        msg, batch, now = state.msg, state.batch, state.received_at
        if isinstance(meter, UnknownMeter):
            rows.reject(batch, msg.topic, str(meter), msg.payload, now)
            return batch
        self.last_seen[state.serial] = time.monotonic()
        try:
            records = state.parsed.records
            for reason in rows.add_rows(batch, meter, records, now):
                rows.reject(batch, msg.topic, reason, msg.payload, now)
            shadows.add_updates(batch, meter.meter_id, records, now)
        except Exception as exc:  # a bug must cost one message, never the process
            return self._failed(state, exc, state.serial)
        return batch

    @staticmethod
    def _failed(state: _Parsed, exc: Exception, serial: str | None) -> Batch:
        with logs.bound(meter_id=serial):  # the JSON line names the meter
            log.error("could not handle a message on %s", state.msg.topic, exc_info=exc)
        return Handler.refused(state.msg, f"internal error: {exc!r}")

    @staticmethod
    def refused(msg: Message, reason: str) -> Batch:
        """The reject row for a message whose batch the database refused as a whole."""
        batch = Batch()
        rows.reject(batch, msg.topic, reason, msg.payload, datetime.now(UTC))
        return batch
