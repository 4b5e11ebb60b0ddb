"""OCPP 2.0.1 messages from a charging station, handled as their 1.6 counterparts are: the
reply goes out after the batch holding the frame and its rows is committed (or spooled).

What maps where: an EVSE is what 1.6 calls a connector (``connectors.connector_id`` holds the
evseId; EVSE 0 is the station as a whole, as connector 0 is in 1.6); an idToken is an id tag.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.enums import Action

from ingest.ocpp import normalise
from ingest.ocpp.central import HEARTBEAT_INTERVAL_S, Central, utcnow_iso
from ingest.ocpp.frames import to_2_0_1_spelling
from ingest.ocpp201 import meter_values_check, values


class CentralSystem201ChargePoint(Central, ChargePoint):
    VERSION = "2.0.1"
    CALLS = call
    SPELLING = staticmethod(to_2_0_1_spelling)
    ANSWER_UNKNOWN_TYPES = True
    # MeterValues, most of the traffic, are checked by hand and kept as they came (see
    # meter_values_check); every other 2.0.1 CALL against the library's schema.
    HAND_CHECKED = {"MeterValues": (meter_values_check.check, "meterValue")}

    @on(Action.boot_notification)
    async def on_boot_notification(
        self, charging_station: dict[str, Any], reason: str, **kwargs: Any
    ) -> call_result.BootNotification:
        await self.service.boot(
            self.frames,
            charging_station["vendor_name"],
            charging_station["model"],
            charging_station.get("serial_number"),
            charging_station.get("firmware_version"),
            self.VERSION,
        )
        return call_result.BootNotification(
            current_time=utcnow_iso(),
            interval=HEARTBEAT_INTERVAL_S,
            status=self.registration_status,
        )

    @on(Action.heartbeat)
    async def on_heartbeat(self, **kwargs: Any) -> call_result.Heartbeat:
        await self.service.seen(self.frames)
        return call_result.Heartbeat(current_time=utcnow_iso())

    @on(Action.status_notification)
    async def on_status_notification(
        self, timestamp: str, connector_status: str, evse_id: int, connector_id: int, **kwargs: Any
    ) -> call_result.StatusNotification:
        evse_id = normalise.connector_id(evse_id)
        message = {"evse_id": evse_id, "connector_id": connector_id, "status": connector_status}
        at = self._charger_time(timestamp, "timestamp", message)
        # 2.0.1 has no errorCode: a fault is the status Faulted, details come by NotifyEvent.
        await self.service.status(
            self.frames, evse_id, connector_status, "NoError", at, None, None, None
        )
        return call_result.StatusNotification()

    @on(Action.authorize)
    async def on_authorize(self, id_token: dict[str, Any], **kwargs: Any) -> call_result.Authorize:
        status = await self.service.id_tag(id_token["id_token"])
        await self.service.seen(self.frames)
        return call_result.Authorize(id_token_info={"status": status})

    @on(Action.transaction_event)
    async def on_transaction_event(
        self,
        event_type: str,
        timestamp: str,
        trigger_reason: str,
        seq_no: int,
        transaction_info: dict[str, Any],
        **kwargs: Any,
    ) -> call_result.TransactionEvent:
        # A clock outside the window: the event is kept at the receive time with a reject row,
        # as 1.6 keeps a Start or Stop (a real session is never refused for a wrong clock).
        at = self._charger_time(timestamp, "timestamp", {"seq_no": seq_no, **transaction_info})
        evse = kwargs.get("evse")
        connector_id = normalise.connector_id(evse["id"]) if evse else None
        id_token = (kwargs.get("id_token") or {}).get("id_token")
        samples = values.meter_values(
            kwargs.get("meter_value") or [], self.time_window, datetime.now(UTC)
        )
        event = {
            "ocpp_transaction_id": transaction_info["transaction_id"],
            "event_type": event_type,
            "seq_no": normalise.transaction_id(seq_no),  # an int32 column, checked as one
            "time": at,
            "trigger_reason": trigger_reason,
            "offline": bool(kwargs.get("offline", False)),
            "stopped_reason": transaction_info.get("stopped_reason"),
        }
        status = await self.service.id_tag(id_token) if id_token else None
        await self.service.transaction_event(self.frames, event, connector_id, id_token, samples)
        if status is None:
            return call_result.TransactionEvent()
        return call_result.TransactionEvent(id_token_info={"status": status})

    @on(Action.meter_values, skip_schema_validation=True)
    async def on_meter_values(self, evse_id: int, **kwargs: Any) -> call_result.MeterValues:
        connector_id = normalise.connector_id(evse_id)
        samples = values.meter_values(
            self.wire.payload["meterValue"], self.time_window, datetime.now(UTC), camel=True
        )
        await self.service.meter_values(self.frames, connector_id, None, samples)
        return call_result.MeterValues()

    @on(Action.security_event_notification)
    async def on_security_event(
        self, type: str, timestamp: str, **kwargs: Any
    ) -> call_result.SecurityEventNotification:
        at = normalise.timestamp(timestamp, "timestamp")
        details = {"tech_info": kwargs["tech_info"]} if "tech_info" in kwargs else {}
        await self.service.security_event(self.frames, type, at, details)
        return call_result.SecurityEventNotification()

    # Kept as frames in ocpp_messages (and last_seen_at); nothing of theirs is a series yet.
    @on(Action.notify_event)
    async def on_notify_event(self, **kwargs: Any) -> call_result.NotifyEvent:
        await self.service.seen(self.frames)
        return call_result.NotifyEvent()

    @on(Action.notify_report)
    async def on_notify_report(self, **kwargs: Any) -> call_result.NotifyReport:
        await self.service.seen(self.frames)
        return call_result.NotifyReport()

    @on(Action.firmware_status_notification)
    async def on_firmware_status(self, **kwargs: Any) -> call_result.FirmwareStatusNotification:
        await self.service.seen(self.frames)
        return call_result.FirmwareStatusNotification()

    @on(Action.log_status_notification)
    async def on_log_status(self, **kwargs: Any) -> call_result.LogStatusNotification:
        await self.service.seen(self.frames)
        return call_result.LogStatusNotification()
