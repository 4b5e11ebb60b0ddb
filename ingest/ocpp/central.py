"""What a charge point's connection holds whichever OCPP version it speaks: its frame log and
wire, the charging service and writer, and operator commands in the version's own messages."""

from __future__ import annotations

import weakref
from collections import OrderedDict
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from ocpp.charge_point import (
    camel_to_snake_case,
    remove_nones,
    serialize_as_dict,
    snake_to_camel_case,
)

from ingest.clock import TimeWindow
from ingest.ocpp import normalise
from ingest.ocpp.frames import FrameLog
from ingest.ocpp.service import ChargingService
from ingest.ocpp.wire import Wired
from ingest.writer import Writer

HEARTBEAT_INTERVAL_S = 300


# The receive time used in place of a charger time outside the window, by central system (its
# service), charge point and message: a re-sent StartTransaction must get the same start (and so
# the same transaction), also on a new connection.
_SUBSTITUTES: weakref.WeakKeyDictionary[ChargingService, OrderedDict[tuple, datetime]] = (
    weakref.WeakKeyDictionary()
)


def utcnow_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class Central(Wired):
    """Mixed in before the library's ChargePoint of the version (ocpp.v16 or ocpp.v201)."""

    VERSION: str  # as charge_points.ocpp_version says it
    CALLS: ModuleType  # the version's ``call`` module: the commands it can send

    def __init__(
        self,
        charge_point_id: str,
        connection: Any,
        service: ChargingService,
        writer: Writer,
        *,
        registration_status: str = "Accepted",
        response_timeout_s: float = 30,
        time_window: TimeWindow | None = None,
    ) -> None:
        frames = FrameLog(charge_point_id, writer)
        super().__init__(charge_point_id, connection, frames, response_timeout_s)
        self.service = service
        self.registration_status = registration_status
        self.time_window = time_window or TimeWindow()

    def _charger_time(self, text: str, field: str, message: dict[str, Any]) -> datetime:
        """A charger's own time in a StartTransaction, StopTransaction, StatusNotification or
        TransactionEvent. Outside the window the message is still taken (a real session must
        not be refused because the charger's clock is wrong), at the server's receive time, and
        a reject row keeps the original."""
        at = normalise.timestamp(text, field)
        now = datetime.now(UTC)
        problem = self.time_window.problem(at, now)
        if problem is None:
            return at
        action = self.frames.last_call[0]
        key = (self.id, action, text, repr(sorted(message.items())))
        substitutes = _SUBSTITUTES.setdefault(self.service, OrderedDict())
        now = substitutes.setdefault(key, now)
        substitutes.move_to_end(key)
        if len(substitutes) > 10_000:
            substitutes.popitem(last=False)
        reason = f"{field} {text} {problem}; stored at the server's receive time {now.isoformat()}"
        self.frames.reject(reason)
        return now

    async def send_command(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send an operator command; its answer as a camelCase dict. Raises OCPPError for a
        CALLERROR, TimeoutError when none comes, TypeError/ValueError for a bad payload."""
        message = getattr(self.CALLS, action, None)
        # Only the module's own messages (it also imports typing's names): a 1.6 command for a
        # 2.0.1 station, say, fails with the reason.
        if not isinstance(message, type) or message.__module__ != self.CALLS.__name__:
            raise ValueError(f"{action} is not an OCPP {self.VERSION} command")
        request = message(**camel_to_snake_case(payload))
        response = await self.call(request, suppress=False)  # type: ignore[attr-defined]
        # As it came on the wire: optional fields the charge point left out stay out.
        return snake_to_camel_case(remove_nones(serialize_as_dict(response)))
