"""What each charge point message does to the database, as writer batches.

Handlers hand over parsed values; each method builds one ``Batch`` (series rows, current-state
statements, and the connection's frames so far), and returns once the writer has made it
durable — so the CALLRESULT goes out only after its data is committed or spooled.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import OrderedDict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ocpp.charge_point import snake_to_camel_case
from ocpp.exceptions import InternalError

from ingest.ocpp.auth import id_tag_status
from ingest.ocpp.frames import FrameLog, as_text
from ingest.ocpp.lookup import DatabaseUnavailable, Lookup
from ingest.ocpp.normalise import MAIN_REGISTER, Rejected, Sample
from ingest.writer import Batch, BatchRefused, SpoolFull, Writer

log = logging.getLogger(__name__)

_CACHE_SIZE = 10_000


class _Bounded(OrderedDict):
    """A small LRU map: answers we may need while the database is away."""

    def __setitem__(self, key, value) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        if len(self) > _CACHE_SIZE:
            self.popitem(last=False)


def offline_transaction_id(
    charge_point_id: str, connector_id: int, started_at: datetime, id_tag: str
) -> int:
    """A transactionId for a start the database cannot number now: negative (the database's
    own ids are positive), and the same for a re-sent StartTransaction.

    31 bits of a hash: two starts can get the same one. Neither is dropped: at replay the
    second takes the next free id down and remembers this one as the id its charge point knows
    it by, so its stop and meter values still find it (insert_offline_transaction)."""
    key = f"{charge_point_id}\x1f{connector_id}\x1f{started_at.isoformat()}\x1f{id_tag}"
    digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big")
    return -(digest & 0x7FFFFFFF) - 1


def transaction_id_201(charge_point_id: str, ocpp_transaction_id: str) -> int:
    """The integer id of an OCPP 2.0.1 transaction, from the station's own string: the same for
    every event of it, with or without the database (negative, as offline 1.6 ids; a collision
    is resolved at insert, upsert_transaction_201)."""
    key = f"2.0.1\x1f{charge_point_id}\x1f{ocpp_transaction_id}"
    digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big")
    return -(digest & 0x7FFFFFFF) - 1


def _unplaced(sample: Sample, reason: str) -> Rejected:
    raw = {
        "timestamp": sample.time.isoformat(), "value": str(sample.value),
        "measurand": sample.measurand, "phase": sample.phase, "location": sample.location,
        "context": sample.context, "unit": sample.unit,
    }  # fmt: skip
    return Rejected(reason, raw)


class ChargingService:
    def __init__(self, writer: Writer, lookup: Lookup) -> None:
        self.writer = writer
        self.lookup = lookup
        self._tags: _Bounded = _Bounded()
        self._connectors: _Bounded = _Bounded()  # (charge point, transaction) -> connector

    def _batch(self, frames: FrameLog, now: datetime) -> Batch:
        batch = Batch()
        for row in frames.take():
            batch.add("ocpp_messages", row)
        for row in frames.take_rejects():  # charger times the handler did not store as such
            batch.add("ingest_rejects", row)
        batch.run("touch_charge_point", {"charge_point_id": frames.charge_point_id, "seen_at": now})
        return batch

    async def _write(self, batch: Batch, frames: FrameLog) -> None:
        """Write the batch; if the database refuses its data, keep the frames and the CALL as a
        reject with the reason instead, and let the handler answer with a CALLERROR. Storage
        full (the database away and the spool at its cap, or its disk full) is an InternalError
        that says so: nothing was stored, and the charge point sends the message again later."""
        try:
            await self.writer.write(batch)
        except BatchRefused as exc:
            await self._keep_refused(batch, frames, exc)
            raise
        except SpoolFull as exc:
            raise InternalError(description=f"storage is full, try again later ({exc})") from exc

    async def _keep_refused(self, batch: Batch, frames: FrameLog, exc: BatchRefused) -> None:
        """The frames and a reject row; if even that is refused (a frame jsonb cannot hold),
        the frames as escaped text; failing that, the log."""
        action, frame = frames.last_call
        reject = Batch()
        reject.reject("ocpp", f"{frames.charge_point_id}/{action}", str(exc), frame)
        rows = batch.rows.get("ocpp_messages", [])
        for frame_rows in (rows, list(map(as_text, rows))):
            attempt = Batch(rows={"ocpp_messages": frame_rows, **reject.rows})
            try:
                await self.writer.write(attempt)
                return
            except BatchRefused:
                continue
            except Exception:
                break
        log.error("%s: could not keep the refused %s as a reject", frames.charge_point_id, action)

    async def seen(self, frames: FrameLog) -> None:
        """Heartbeat, DataTransfer, Diagnostics- and FirmwareStatusNotification: the frame and
        last_seen_at are all there is to keep."""
        await self._write(self._batch(frames, datetime.now(UTC)), frames)

    async def security_event(
        self, frames: FrameLog, event: str, at: datetime, details: dict[str, Any]
    ) -> None:
        """A security event the charger reports (2.0.1), kept in ``security_events``."""
        batch = self._batch(frames, datetime.now(UTC))
        params = {
            "charge_point_id": frames.charge_point_id,
            "event": event,
            "at": at,
            "details": json.dumps(details),
        }
        batch.run("record_charger_security_event", params)
        await self._write(batch, frames)

    async def boot(
        self,
        frames: FrameLog,
        vendor: str,
        model: str,
        serial: str | None,
        firmware: str | None,
        ocpp_version: str = "1.6",
    ) -> None:
        now = datetime.now(UTC)
        batch = self._batch(frames, now)
        batch.run(
            "record_boot",
            {
                "charge_point_id": frames.charge_point_id,
                "vendor": vendor,
                "model": model,
                "serial": serial,
                "firmware": firmware,
                "ocpp_version": ocpp_version,
                "booted_at": now,
            },
        )
        await self._write(batch, frames)

    async def status(
        self,
        frames: FrameLog,
        connector_id: int,
        status: str,
        error_code: str,
        at: datetime | None,
        info: str | None,
        vendor_id: str | None,
        vendor_error_code: str | None,
    ) -> None:
        now = datetime.now(UTC)
        at = at or now
        cp = frames.charge_point_id
        batch = self._batch(frames, now)
        batch.add(
            "status_notifications",
            (at, now, cp, connector_id, status, error_code, info, vendor_id, vendor_error_code),
        )
        batch.run(
            "record_connector_status",
            {
                "charge_point_id": cp,
                "connector_id": connector_id,
                "status": status,
                "error_code": error_code,
                "status_at": at,
            },
        )
        await self._write(batch, frames)

    async def id_tag(self, id_tag: str) -> str:
        """The tag's status; while the database is away, the last answer we had, else Invalid."""
        try:
            row = await self.lookup.one(("id_tag_with_parent", {"id_tag": id_tag}))
        except DatabaseUnavailable:
            return self._tags.get(id_tag, "Invalid")
        status = id_tag_status(row, datetime.now(UTC))
        self._tags[id_tag] = status
        return status

    async def start_transaction(
        self, frames: FrameLog, connector_id: int, id_tag: str, meter_start: int, at: datetime
    ) -> int:
        now = datetime.now(UTC)
        cp = frames.charge_point_id
        params = {
            "charge_point_id": cp,
            "connector_id": connector_id,
            "id_tag": id_tag,
            "meter_start_wh": meter_start,
            "started_at": at,
            "received_at": now,
        }
        batch = self._batch(frames, now)
        transaction_id = None
        # With a backlog still in the spool, the database may not hold this start yet.
        if not self.writer.spool:
            try:
                row = await self.lookup.one(
                    ("touch_charge_point", {"charge_point_id": cp, "seen_at": now}),
                    ("find_or_create_transaction", params),
                )
                transaction_id = row["id"] if row else None
            except DatabaseUnavailable:
                pass
        if transaction_id is None:
            transaction_id = offline_transaction_id(cp, connector_id, at, id_tag)
            batch.run("insert_offline_transaction", {**params, "transaction_id": transaction_id})
        self._connectors[(cp, transaction_id)] = connector_id
        register = Sample(at, *MAIN_REGISTER, "Transaction.Begin", "Wh", Decimal(meter_start))
        self._add_samples(batch, cp, connector_id, transaction_id, [register], now)
        await self._write(batch, frames)
        return transaction_id

    async def meter_values(
        self,
        frames: FrameLog,
        connector_id: int,
        transaction_id: int | None,
        samples: list[Sample | Rejected],
    ) -> None:
        now = datetime.now(UTC)
        batch = self._batch(frames, now)
        self._add_samples(batch, frames.charge_point_id, connector_id, transaction_id, samples, now)
        await self._write(batch, frames)

    async def stop_transaction(
        self,
        frames: FrameLog,
        transaction_id: int,
        meter_stop: int,
        at: datetime,
        reason: str | None,
        id_tag: str | None,
        samples: list[Sample | Rejected],
    ) -> None:
        now = datetime.now(UTC)
        cp = frames.charge_point_id
        batch = self._batch(frames, now)
        batch.run(
            "stop_transaction",
            {
                "charge_point_id": cp,
                "transaction_id": transaction_id,
                "meter_stop_wh": meter_stop,
                "stopped_at": at,
                "received_at": now,
                "reason": reason or "Local",
                "id_tag": id_tag,
            },
        )
        connector_id = await self._connector_of(cp, transaction_id)
        if connector_id is None:
            # An orphan, or the database is away and we never saw the start: the stop itself is
            # kept (above); readings without a connector cannot be placed in a series.
            log.warning("%s: no connector for transaction %s", cp, transaction_id)
        else:
            register = Sample(at, *MAIN_REGISTER, "Transaction.End", "Wh", Decimal(meter_stop))
            samples = [*samples, register]
            self._add_samples(batch, cp, connector_id, transaction_id, samples, now)
        await self._write(batch, frames)

    async def transaction_event(
        self,
        frames: FrameLog,
        event: dict[str, Any],
        connector_id: int | None,
        id_tag: str | None,
        samples: list[Sample | Rejected],
    ) -> None:
        """An OCPP 2.0.1 TransactionEvent (Started, Updated or Ended) in one batch: the event
        row (once per seqNo), the transaction created or completed by whichever event comes
        first, its readings, and for Ended the stop. ``event``: ocpp_transaction_id, event_type,
        seq_no, time, trigger_reason, offline, stopped_reason."""
        now = datetime.now(UTC)
        cp = frames.charge_point_id
        tx = event["ocpp_transaction_id"]
        if connector_id is None:
            connector_id = await self._connector_of_201(cp, tx)
        else:
            self._connectors[(cp, tx)] = connector_id
        transaction_id = transaction_id_201(cp, tx)
        register = next((s for s in samples if isinstance(s, Sample) and s.is_main_register), None)
        batch = self._batch(frames, now)
        batch.run(
            "record_transaction_event",
            {"charge_point_id": cp, "received_at": now, "evse_id": connector_id,
             "id_token": id_tag, **event},
        )  # fmt: skip
        batch.run(
            "upsert_transaction_201",
            {
                "transaction_id": transaction_id,
                "charge_point_id": cp,
                "connector_id": connector_id if connector_id is not None else 0,
                "id_tag": id_tag,
                # The start register: the first main-register reading the transaction reports.
                "meter_start_wh": register.value if register is not None else None,
                "started_at": event["time"],
                "received_at": now,
                "ocpp_transaction_id": tx,
            },
        )
        if event["event_type"] == "Ended":
            end = max(
                (s for s in samples if isinstance(s, Sample) and s.is_main_register),
                key=lambda s: s.time,
                default=None,
            )
            batch.run(
                "stop_transaction_201",
                {
                    "charge_point_id": cp,
                    "ocpp_transaction_id": tx,
                    "stopped_at": event["time"],
                    "received_at": now,
                    "reason": event["stopped_reason"] or "Local",
                    "meter_stop_wh": end.value if end is not None else None,
                },
            )
        if connector_id is None:
            # No event has named the EVSE yet (2.0.1 requires it in the first): the readings
            # cannot be placed in a connector's series, so they are kept as rejects, not lost.
            reason = f"transaction {tx}: no EVSE known for its readings yet"
            samples = [s if isinstance(s, Rejected) else _unplaced(s, reason) for s in samples]
        self._add_samples(batch, cp, connector_id or 0, transaction_id, samples, now)
        await self._write(batch, frames)

    async def _connector_of(self, cp: str, transaction_id: int) -> int | None:
        params = {"charge_point_id": cp, "transaction_id": transaction_id}
        return await self._connector((cp, transaction_id), "transaction_connector", params)

    async def _connector_of_201(self, cp: str, tx: str) -> int | None:
        params = {"charge_point_id": cp, "ocpp_transaction_id": tx}
        return await self._connector((cp, tx), "transaction_connector_201", params)

    async def _connector(self, key: tuple, query: str, params: dict) -> int | None:
        """A transaction's connector: remembered, else looked up (None while the database is
        away, or for a transaction it does not hold)."""
        if key in self._connectors:
            return self._connectors[key]
        try:
            row = await self.lookup.one((query, params))
        except DatabaseUnavailable:
            return None
        return row["connector_id"] if row else None

    def _add_samples(
        self,
        batch: Batch,
        cp: str,
        connector_id: int,
        transaction_id: int | None,
        samples: list[Sample | Rejected],
        now: datetime,
    ) -> None:
        latest: Sample | None = None
        for s in samples:
            if isinstance(s, Rejected):
                raw = json.dumps(snake_to_camel_case(s.raw))
                batch.add("ingest_rejects", (now, "ocpp", f"{cp}/MeterValues", s.reason, raw))
                continue
            batch.add(
                "meter_values",
                (
                    s.time,
                    now,
                    cp,
                    connector_id,
                    transaction_id,
                    s.measurand,
                    s.phase,
                    s.location,
                    s.context,
                    s.unit,
                    s.value,
                    "ok",
                ),
            )
            if s.is_main_register and (latest is None or s.time >= latest.time):
                latest = s
        if latest is not None:
            batch.run(
                "record_connector_meter",
                {
                    "charge_point_id": cp,
                    "connector_id": connector_id,
                    "meter_wh": latest.value,
                    "meter_at": latest.time,
                },
            )
