"""One charge point's connection: the OCPP 1.6 handlers, the frame log, and the edge checks the
ocpp library leaves to us (timestamps, error-code spelling, frames that are not OCPP at all).
Handlers stay thin: they parse, call the service, and shape the answer."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from ocpp.charge_point import camel_to_snake_case, serialize_as_dict, snake_to_camel_case
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.datatypes import IdTagInfo
from ocpp.v16.enums import Action

from ingest.ocpp import normalise
from ingest.ocpp.frames import FrameLog, to_1_6_spelling
from ingest.ocpp.service import ChargingService
from ingest.writer import Writer

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL_S = 300


def _utcnow_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class CentralSystemChargePoint(ChargePoint):
    def __init__(
        self,
        charge_point_id: str,
        connection: Any,
        service: ChargingService,
        writer: Writer,
        *,
        registration_status: str = "Accepted",
        response_timeout_s: float = 30,
    ) -> None:
        super().__init__(charge_point_id, connection, response_timeout=response_timeout_s)
        self.service = service
        self.frames = FrameLog(charge_point_id, writer)
        self.registration_status = registration_status

    # -- the wire -------------------------------------------------------------------------

    async def route_message(self, raw_msg: str | bytes) -> None:
        frame = raw_msg if isinstance(raw_msg, str) else raw_msg.decode("utf-8", "replace")
        self.frames.record("in", frame)
        try:
            message = json.loads(frame)
        except ValueError:
            # No message id to answer to: kept in ocpp_messages (raw), nothing to reply.
            log.warning("%s: a frame that is not JSON", self.id)
            return
        if (
            isinstance(message, list)
            and len(message) >= 2
            and message[0] == 2
            and isinstance(message[1], str)
            and len(message) != 4
        ):
            await self._send(_error(message[1], "ProtocolError", "a CALL has 4 elements"))
            return
        try:
            await super().route_message(frame)
        except Exception:
            # The library lets some failures escape (e.g. an action name that is not a string);
            # one bad frame must never end the connection, let alone the server.
            log.exception("%s: could not handle %.200s", self.id, frame)
            if isinstance(message, list) and len(message) > 1 and isinstance(message[1], str):
                await self._send(_error(message[1], "FormationViolation", "malformed message"))

    async def _send(self, message: str) -> None:
        message = to_1_6_spelling(message)
        self.frames.record("out", message)
        await super()._send(message)

    async def send_command(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send an operator command; its answer as a camelCase dict. Raises OCPPError for a
        CALLERROR, TimeoutError when none comes, TypeError/ValueError for a bad payload."""
        request = getattr(call, action)(**camel_to_snake_case(payload))
        response = await self.call(request, suppress=False)
        return snake_to_camel_case(serialize_as_dict(response))

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
            current_time=_utcnow_iso(),
            interval=HEARTBEAT_INTERVAL_S,
            status=self.registration_status,
        )

    @on(Action.heartbeat)
    async def on_heartbeat(self) -> call_result.Heartbeat:
        await self.service.seen(self.frames)
        return call_result.Heartbeat(current_time=_utcnow_iso())

    @on(Action.status_notification)
    async def on_status_notification(
        self, connector_id: int, error_code: str, status: str, **kwargs: Any
    ) -> call_result.StatusNotification:
        at = kwargs.get("timestamp")
        await self.service.status(
            self.frames,
            normalise.connector_id(connector_id),
            status,
            error_code,
            normalise.timestamp(at) if at is not None else None,
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
        started_at = normalise.timestamp(timestamp)
        status = await self.service.id_tag(id_tag)
        transaction_id = await self.service.start_transaction(
            self.frames, normalise.connector_id(connector_id), id_tag, meter_start, started_at
        )
        return call_result.StartTransaction(
            transaction_id=transaction_id, id_tag_info=IdTagInfo(status=status)
        )

    @on(Action.meter_values)
    async def on_meter_values(
        self, connector_id: int, meter_value: list[dict[str, Any]], **kwargs: Any
    ) -> call_result.MeterValues:
        samples = normalise.meter_values(meter_value)
        await self.service.meter_values(
            self.frames,
            normalise.connector_id(connector_id),
            kwargs.get("transaction_id"),
            samples,
        )
        return call_result.MeterValues()

    @on(Action.stop_transaction)
    async def on_stop_transaction(
        self, meter_stop: int, timestamp: str, transaction_id: int, **kwargs: Any
    ) -> call_result.StopTransaction:
        stopped_at = normalise.timestamp(timestamp)
        samples = normalise.meter_values(kwargs.get("transaction_data") or [])
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


def _error(message_id: str, code: str, description: str) -> str:
    return json.dumps([4, message_id, code, description, {}], separators=(",", ":"))
