"""Every frame in and out, as ``ocpp_messages`` rows, and the OCPP 1.6 spelling of error codes.

Frames are logged per connection and flushed through the writer in the background (so they
share its group commits); a handler's batch takes any frames still waiting along with it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from typing import Any

from ingest.writer import Batch, Writer

log = logging.getLogger(__name__)

# The ocpp library speaks OCPP 2.0's spelling and swaps NotImplemented/NotSupported; OCPP-J 1.6
# says "NotImplemented: Requested Action is not known by receiver".
ERROR_CODES_1_6 = {
    "FormatViolation": "FormationViolation",
    "OccurrenceConstraintViolation": "OccurenceConstraintViolation",
    "NotSupported": "NotImplemented",
}
_ERROR_FIELDS = ("errorCode", "errorDescription", "errorDetails")


def to_1_6_spelling(frame: str) -> str:
    """A CALLERROR with its error code spelt as OCPP 1.6 does; other frames unchanged."""
    if not frame.startswith("[4"):
        return frame
    message = parse(frame)
    if message is None or message[2] not in ERROR_CODES_1_6:
        return frame
    message[2] = ERROR_CODES_1_6[message[2]]
    return json.dumps(message, separators=(",", ":"))


def parse(frame: str) -> list | None:
    """The frame as an OCPP message ``[type, id, ...]``, or None if it is not one."""
    try:
        message = json.loads(frame)
    except ValueError:
        return None
    if (
        isinstance(message, list)
        and len(message) >= 3
        and message[0] in (2, 3, 4)
        and isinstance(message[1], str)
    ):
        return message
    return None


def pg_text(value: str) -> str:
    # PostgreSQL text cannot hold NUL; keep the frame readable rather than lose it.
    return value.replace("\x00", "\\u0000")


def frame_row(
    charge_point_id: str, direction: str, frame: str, at: datetime, action: str | None
) -> tuple:
    """An ``ocpp_messages`` row. A frame that is not an OCPP message is kept raw."""
    message = parse(frame)
    if message is None:
        return (at, charge_point_id, direction, None, None, None, None, pg_text(frame))
    kind, message_id = message[0], message[1]
    payload: Any
    if kind == 2:
        payload = message[3] if len(message) > 3 else None
    elif kind == 3:
        payload = message[2]
    else:
        payload = dict(zip(_ERROR_FIELDS, message[2:5], strict=False))
    encoded = json.dumps(payload)
    if "\\u0000" in encoded:  # jsonb refuses NUL too
        return (at, charge_point_id, direction, kind, message_id, action, None, pg_text(frame))
    return (at, charge_point_id, direction, kind, message_id, action, encoded, None)


class FrameLog:
    """The frames of one connection, waiting to be written."""

    def __init__(self, charge_point_id: str, writer: Writer) -> None:
        self.charge_point_id = charge_point_id
        self.writer = writer
        self._rows: list[tuple] = []
        self._actions: dict[str, str] = {}  # message id -> action of the CALL it belongs to
        self._flushing: asyncio.Task | None = None
        self.last_call: tuple[str | None, str] = (None, "")  # (action, frame) being handled

    def record(self, direction: str, frame: str) -> None:
        at, action = datetime.now(UTC), self._action(frame)
        if direction == "in":
            self.last_call = (action, frame)
        self._rows.append(frame_row(self.charge_point_id, direction, frame, at, action))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush())

    def _action(self, frame: str) -> str | None:
        """The action of a CALL, and of the CALLRESULT or CALLERROR that answers it."""
        message = parse(frame)
        if message is None:
            return None
        if message[0] != 2:
            return self._actions.pop(message[1], None)
        action = message[2] if isinstance(message[2], str) else None
        if action is not None:
            self._actions[message[1]] = action
            if len(self._actions) > 1000:  # answers that never came
                self._actions.pop(next(iter(self._actions)))
        return action

    def take(self) -> list[tuple]:
        rows, self._rows = self._rows, []
        return rows

    async def flush(self) -> None:
        await self._flush()

    async def _flush(self) -> None:
        # Yield once so a handler running now can take the frames into its own batch.
        await asyncio.sleep(0)
        rows = self.take()
        if not rows:
            return
        try:
            await self.writer.write(Batch(rows={"ocpp_messages": rows}))
        except Exception:
            log.exception("%s: could not store %d frame(s)", self.charge_point_id, len(rows))
