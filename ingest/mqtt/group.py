"""Messages stored with one write and acknowledged together once it commits.

Under load the subscriber hands the writer one Batch per group of messages instead of one per
message: a future, a queue entry and a task per message cost more than the message's rows, and
the shadow statements (two a message) were the largest cost of a message in the database. So
each message's shadow statements are kept only where they change
something (``now()`` is the same for the whole transaction, so order only matters where it
says below):

- ``mark_meter_seen`` is one statement per meter, with the latest receive time. It sets
  ``greatest(last_seen_at, seen_at)`` and ``updated_at = now()``, so one statement with the
  maximum leaves the row as all of them would; it stays where the meter's first one was, before
  that meter's other statements (it creates the shadow row if there is none).
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

from ingest.mqtt.handler import Message
from ingest.writer import Batch

PROMOTE = "promote_due_tariffs"


class Group:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.parts: list[Batch] = []  # each message's own batch
        self.batch = Batch()  # all of them, shadow statements coalesced
        self._seen: dict[object, int] = {}  # meter_id -> index of its mark_meter_seen
        self._tariff_changed: set[object] = set()  # meters with an apply_tariffs not promoted

    def __len__(self) -> int:
        return len(self.messages)

    def add(self, msg: Message, batch: Batch) -> None:
        self.messages.append(msg)
        self.parts.append(batch)
        rows = self.batch.rows
        for target, new in batch.rows.items():
            if target in rows:
                rows[target].extend(new)
            else:
                rows[target] = list(new)
        statements = self.batch.statements
        for query, params in batch.statements:
            if not statements:
                # Where it goes does not matter: no other statement of a meter without a tariff
                # change in this group touches its tariffs.
                statements.append((PROMOTE, {"meter_id": None}))
            meter = params.get("meter_id")
            if query == "mark_meter_seen":
                at = self._seen.get(meter)
                if at is not None:
                    if params["seen_at"] > statements[at][1]["seen_at"]:
                        statements[at] = (query, params)
                    continue
                self._seen[meter] = len(statements)
            elif query == PROMOTE:
                if meter not in self._tariff_changed:
                    continue  # the group's own promote covers it
                self._tariff_changed.discard(meter)
            elif query == "apply_tariffs":
                self._tariff_changed.add(meter)
            statements.append((query, params))
