"""Messages stored with one write and acknowledged together once it commits.

Under load the subscriber hands the writer one Batch per group of messages instead of one per
message: a future, a queue entry and a task per message cost more than the message's rows, and
the shadow statements (two a message) were the largest cost of a message in the database. So
each message's shadow statements are kept only where they change something (``now()`` is the
same for the whole transaction, so order only matters where it says below):

- ``mark_meter_seen`` of every message becomes one ``mark_meters_seen`` for the group, first,
  with each meter's latest receive time. It sets ``greatest(last_seen_at, seen_at)`` and
  ``updated_at = now()``, so the latest time leaves the row as all of them would, and no other
  statement reads ``last_seen_at``; going first, it creates any missing shadow row before
  another statement needs it. One statement with arrays instead of one per meter: a group
  from a fleet holds a statement for most of its meters, and statements were the largest cost
  of a group in both the subscriber and PostgreSQL. It locks the rows in meter_id order, so
  two subscribers sharing a subscription cannot deadlock on them.
- ``promote_due_tariffs`` runs once for the group, for all meters (``meter_id`` NULL, the form
  ``wattline jobs`` runs), instead of once per message: a meter's due future tariff is promoted
  in the same transaction as its message, as before, and a quiet meter's no later than with the
  next group. Only right after an ``apply_tariffs`` does a meter keep its own promote, in
  order, since a tariff message can set a future tariff that the next one in the group depends
  on.

Every other statement is kept, in order. Each message's own Batch is kept too, for the rare
group the database refuses: its messages are then written one by one, so only the bad one ends
in ingest_rejects.
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property

from ingest.mqtt.handler import Message
from ingest.writer import Batch

SEEN, SEEN_ALL, PROMOTE = "mark_meter_seen", "mark_meters_seen", "promote_due_tariffs"


class Group:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.parts: list[Batch] = []  # each message's own batch
        self._rows = Batch()  # every message's rows
        self._statements: list[tuple[str, dict]] = []  # those not coalesced, in order
        self._seen: dict[object, datetime] = {}  # meter_id -> latest receive time
        self._tariff_changed: set[object] = set()  # meters with an apply_tariffs not promoted

    def __len__(self) -> int:
        return len(self.messages)

    def add(self, msg: Message, batch: Batch) -> None:
        assert "batch" not in self.__dict__, "a group is not added to once it is written"
        self.messages.append(msg)
        self.parts.append(batch)
        self._rows.extend_rows(batch)
        for query, params in batch.statements:
            meter = params.get("meter_id")
            if query == SEEN:
                seen = self._seen.get(meter)
                if seen is None or params["seen_at"] > seen:
                    self._seen[meter] = params["seen_at"]
                continue
            if query == PROMOTE:
                if meter not in self._tariff_changed:
                    continue  # the group's own promote covers it
                self._tariff_changed.discard(meter)
            elif query == "apply_tariffs":
                self._tariff_changed.add(meter)
            self._statements.append((query, params))

    @cached_property
    def batch(self) -> Batch:
        """All the messages' rows and their statements, coalesced."""
        statements: list[tuple[str, dict]] = []
        if self._seen:
            meters = list(self._seen)
            seen = {"meter_ids": meters, "seen_at": [self._seen[m] for m in meters]}
            statements.append((SEEN_ALL, seen))
        if self._seen or self._statements:
            # Where it goes does not matter: no other statement of a meter without a tariff
            # change in this group touches its tariffs.
            statements.append((PROMOTE, {"meter_id": None}))
        return Batch(rows=self._rows.rows, statements=statements + self._statements)
