"""meter_shadows updates for a message's records, as named-query statements of its Batch, so the
current state commits together with the rows it summarises."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

from ingest.mqtt.payloads import Balance, Health, Record, Tariff
from ingest.writer import Batch

POOR_CSQ = 10  # below this the signal is poor (DESIGN: Definitions, prepayment)
MAX_CLOCK_DRIFT_S = 60  # drift above this is flagged


def health_status(csq: int, clock_time_diff_seconds: int) -> str:
    if csq < POOR_CSQ or abs(clock_time_diff_seconds) > MAX_CLOCK_DRIFT_S:
        return "unhealthy"
    return "healthy"


def add_updates(
    batch: Batch, meter_id: uuid.UUID, records: list[Record], seen_at: datetime
) -> None:
    """The shadow statements for ``records``: only the newest balance and health of the message
    are applied (the SQL also ignores anything older than what is stored), every tariff in
    order, then any future tariff that is due is promoted."""
    batch.run("mark_meter_seen", {"meter_id": meter_id, "seen_at": seen_at})
    # One pass over the records: most messages are one reading, and three filtered scans of
    # them showed up in the subscriber's profile.
    balance = health = None
    tariffs: list[Tariff] = []
    for r in records:
        if isinstance(r, Balance):
            balance = _newer(balance, r)
        elif isinstance(r, Health):
            health = _newer(health, r)
        elif isinstance(r, Tariff):
            tariffs.append(r)
    if balance:
        batch.run(
            "apply_balance",
            {
                "meter_id": meter_id,
                "ts": balance.ts,
                "balance": balance.balance,
                "emergency_credit": balance.emergency_credit,
            },
        )
    if health:
        batch.run(
            "apply_health",
            {
                "meter_id": meter_id,
                "ts": health.ts,
                "csq": health.csq,
                "clock_time_diff_seconds": health.clock_time_diff_seconds,
                "voltage": health.voltage,
                "health": health_status(health.csq, health.clock_time_diff_seconds),
            },
        )
    for tariff in sorted(tariffs, key=_ts) if tariffs else ():
        batch.run(
            "apply_tariffs",
            {"meter_id": meter_id, "active": _json(tariff.active), "future": _json(tariff.future)},
        )
    batch.run("promote_due_tariffs", {"meter_id": meter_id})


def _ts(record: Record) -> datetime:
    return record.ts


def _newer(current, record):
    # The first of equally new records wins, as max() would have it.
    return record if current is None or record.ts > current.ts else current


def _json(value: dict | None) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))
