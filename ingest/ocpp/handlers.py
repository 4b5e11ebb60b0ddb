"""One charge point's connection: the OCPP 1.6 handlers, and the edge checks the ocpp library
leaves to us (timestamps and their window, the ranges of ids and register readings). The wire
itself (frames, the frame log, error-code spelling, what no payload may hold) is
``ingest.ocpp.wire``. Handlers stay thin: they parse, call the service, and shape the answer."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.datatypes import IdTagInfo
from ocpp.v16.enums import Action

from ingest.ocpp import normalise
from ingest.ocpp.central import HEARTBEAT_INTERVAL_S, Central, utcnow_iso

log = logging.getLogger(__name__)


class CentralSystemChargePoint(Central, ChargePoint):
    VERSION = "1.6"
    CALLS = call

    # -- charge point -> central system ----------------------------------------------------

    @on(Action.boot_notification)
    async def on_boot_notification(
        self, charge_point_vendor: str, charge_point_model: str, **kwargs: Any
    ) -> call_result.BootNotification:
        await self.service.boot(
            self.frames,
            charge_point_vendor,
            charge_point_model,
            kwargs.get("charge_point_serial_number"),
            kwargs.get("firmware_version"),
        )
        return call_result.BootNotification(
            current_time=utcnow_iso(),
            interval=HEARTBEAT_INTERVAL_S,
            status=self.registration_status,
        )

    @on(Action.heartbeat)
    async def on_heartbeat(self) -> call_result.Heartbeat:
        await self.service.seen(self.frames)
        return call_result.Heartbeat(current_time=utcnow_iso())

    @on(Action.status_notification)
    async def on_status_notification(
        self, connector_id: int, error_code: str, status: str, **kwargs: Any
    ) -> call_result.StatusNotification:
        at = kwargs.get("timestamp")
        connector_id = normalise.connector_id(connector_id)
        message = {"connector_id": connector_id, "error_code": error_code, "status": status}
        await self.service.status(
            self.frames,
            connector_id,
            status,
            error_code,
            self._charger_time(at, "timestamp", message | kwargs) if at is not None else None,
            kwargs.get("info"),
            kwargs.get("vendor_id"),
            kwargs.get("vendor_error_code"),
        )
        return call_result.StatusNotification()

    @on(Action.authorize)
    async def on_authorize(self, id_tag: str) -> call_result.Authorize:
        status = await self.service.id_tag(id_tag)
        await self.service.seen(self.frames)
        return call_result.Authorize(id_tag_info=IdTagInfo(status=status))

    @on(Action.start_transaction)
    async def on_start_transaction(
        self, connector_id: int, id_tag: str, meter_start: int, timestamp: str, **kwargs: Any
    ) -> call_result.StartTransaction:
        connector_id = normalise.connector_id(connector_id)
        meter_start = normalise.meter_reading(meter_start, "meterStart")
        message = {"connector_id": connector_id, "id_tag": id_tag, "meter_start": meter_start}
        started_at = self._charger_time(timestamp, "timestamp", message | kwargs)
        status = await self.service.id_tag(id_tag)
        transaction_id = await self.service.start_transaction(
            self.frames, connector_id, id_tag, meter_start, started_at
        )
        return call_result.StartTransaction(
            transaction_id=transaction_id, id_tag_info=IdTagInfo(status=status)
        )

    # Most of the traffic: the wire checks it with meter_values_check, not jsonschema, and
    # keeps meterValue as it came (wire.CHECKS): the library does not re-key it.
    @on(Action.meter_values, skip_schema_validation=True)
    async def on_meter_values(self, connector_id: int, **kwargs: Any) -> call_result.MeterValues:
        connector_id = normalise.connector_id(connector_id)
        transaction_id = kwargs.get("transaction_id")
        if transaction_id is not None:
            transaction_id = normalise.transaction_id(transaction_id)
        samples = normalise.meter_values(
            self.wire.payload["meterValue"], self.time_window, datetime.now(UTC), "sampledValue"
        )
        await self.service.meter_values(self.frames, connector_id, transaction_id, samples)
        return call_result.MeterValues()

    @on(Action.stop_transaction)
    async def on_stop_transaction(
        self, meter_stop: int, timestamp: str, transaction_id: int, **kwargs: Any
    ) -> call_result.StopTransaction:
        transaction_id = normalise.transaction_id(transaction_id)
        meter_stop = normalise.meter_reading(meter_stop, "meterStop")
        message = {"meter_stop": meter_stop, "transaction_id": transaction_id}
        stopped_at = self._charger_time(timestamp, "timestamp", message | kwargs)
        samples = normalise.meter_values(
            kwargs.get("transaction_data") or [], self.time_window, datetime.now(UTC)
        )
        id_tag = kwargs.get("id_tag")
        status = await self.service.id_tag(id_tag) if id_tag else None
        await self.service.stop_transaction(
            self.frames,
            transaction_id,
            meter_stop,
            stopped_at,
            kwargs.get("reason"),
            id_tag,
            samples,
        )
        return call_result.StopTransaction(id_tag_info=IdTagInfo(status=status) if status else None)

    @on(Action.data_transfer)
    async def on_data_transfer(self, vendor_id: str, **kwargs: Any) -> call_result.DataTransfer:
        await self.service.seen(self.frames)
        # We implement no vendor extensions; the frame is kept for whoever needs it.
        return call_result.DataTransfer(status="UnknownVendorId")

    @on(Action.diagnostics_status_notification)
    async def on_diagnostics_status(self, status: str) -> call_result.DiagnosticsStatusNotification:
        await self.service.seen(self.frames)
        return call_result.DiagnosticsStatusNotification()

    @on(Action.firmware_status_notification)
    async def on_firmware_status(self, status: str) -> call_result.FirmwareStatusNotification:
        await self.service.seen(self.frames)
        return call_result.FirmwareStatusNotification()
