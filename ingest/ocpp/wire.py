"""The ocpp library's ChargePoint on its public seams only, for the central system.

The library reads frames with ``connection.recv()`` and writes them with ``connection.send()``;
``Wire`` is that connection. It sits between the library and the WebSocket and does what the
library leaves to us: every frame in and out is kept (``FrameLog``), CALLERROR codes go out in
the spelling of the protocol version spoken, and frames the library must never see are
answered here. Per-frame INFO logs of the library are dropped through the ``logger=`` argument
(every frame is kept in ocpp_messages anyway); its tracebacks for our own bugs are kept.
MeterValues, most of the traffic, skips the library's jsonschema (``skip_schema_validation``)
and is checked by ``meter_values_check`` in ``Wire.recv``.

Edge checks: each frame is parsed by ``edge.loads``, which refuses what the database could not
store. A CALL holding such a thing is answered (OCPP-J 1.6 spelling) with FormationViolation
when the frame is not plain JSON (NaN, Infinity, nested deeper than 16, a syntax error) and with
PropertyConstraintViolation when it is JSON holding a value no column takes (NUL or a lone
surrogate in a string, a number beyond float range or of more than 4,300 digits); an answer to
one of our commands that holds one fails that command with the same code. A frame without a
message id to answer to is kept and otherwise ignored, and so is an answer to no command of
ours. No frame closes the connection; InternalError is left for our own bugs, each logged with
its traceback.
"""

from __future__ import annotations

import inspect
import json
import logging
import re
import sys
from collections.abc import Callable
from typing import Any

from ocpp.exceptions import OCPPError

from ingest import edge
from ingest.ocpp import meter_values_check
from ingest.ocpp.frames import FrameLog, ocpp_message, to_1_6_spelling

log = logging.getLogger(__name__)

# CALLs checked here, by hand, instead of by the library's jsonschema (their @on says so), and
# the field of each that its handler reads from ``Wire.payload`` as it came off the wire. The
# library is handed the frame without it: re-keying every sampled value to snake_case cost
# 52 us of the 1.4 ms a MeterValues costs the server (bench/ocpp_load.py), the whole saving of
# the old private-API wire.
CHECKS: dict[str, tuple[Callable[[dict], None], str]] = {
    "MeterValues": (meter_values_check.check, "meterValue"),
}

# The head of a frame whose whole could not be read: ``[type, "id"`` and maybe ``, "Action"``.
# An id with escapes in it is not taken: it could hold what the frame log cannot.
_HEAD = re.compile(
    r'\s*\[\s*([234])\s*,\s*"([^"\\\x00-\x1f]{1,128})"(?:\s*,\s*"([^"\\\x00-\x1f]{1,64})")?'
)
_PENDING_KEPT = 16  # ids of our own CALLs still awaiting an answer (commands are one at a time)


class LibraryLog:
    """The ``logger=`` of the library's ChargePoint. Its per-frame INFO lines cost a formatted
    line per message and repeat ocpp_messages; dropped. Its ``exception`` is kept for our own
    bugs (InternalError) and made a one-line INFO for bad input answered with a code."""

    def __init__(self, charge_point_id: str) -> None:
        self.id = charge_point_id

    def debug(self, *args: Any, **kwargs: Any) -> None:
        pass

    info = debug

    def warning(self, msg: str, *args: Any) -> None:
        log.info("%s: " + msg, self.id, *args)

    def error(self, msg: str, *args: Any) -> None:
        log.warning("%s: " + msg, self.id, *args)

    def exception(self, msg: str, *args: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, OCPPError):
            log.info("%s: answered with %s (%s)", self.id, error.code, error)
        else:
            log.error("%s: " + msg, self.id, *args, exc_info=True)


class Wire:
    """The connection as the library sees it: ``recv()`` yields only frames it can route."""

    def __init__(
        self,
        charge_point_id: str,
        connection: Any,
        frames: FrameLog,
        spelling: Callable[[str], str] = to_1_6_spelling,
    ) -> None:
        self.id = charge_point_id
        self.connection = connection
        self.frames = frames
        self.spelling = spelling
        self.answer_unknown_types = False
        self.checks = CHECKS
        self.pending: list[str] = []  # unique ids of our CALLs not answered yet
        # The payload of the CALL the library routes now (it routes one at a time), as parsed
        # and checked here, for handlers that read a field of CHECKS from it.
        self.payload: dict[str, Any] = {}

    async def recv(self) -> str:
        while True:
            raw = await self.connection.recv()
            frame = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
            routed = await self._screen(frame)
            if routed is not None:
                return routed

    async def send(self, frame: str) -> None:
        frame = self.spelling(frame)
        if frame.startswith("[2"):
            message = json.loads(frame)
            self.pending = [*self.pending[-(_PENDING_KEPT - 1) :], message[1]]
        self.frames.record("out", frame)
        await self.connection.send(frame)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self.connection.close(code, reason)

    async def _screen(self, frame: str) -> str | None:
        """The frame for the library to route, or None when it was dealt with here."""
        try:
            message = edge.loads(frame)
        except ValueError as error:
            return await self._unreadable(frame, error)
        self.frames.record("in", frame, ocpp_message(message))
        if not (
            type(message) is list
            and len(message) >= 2
            and message[0] in (2, 3, 4)
            and type(message[1]) is str
        ):
            log.warning("%s: a frame that is not an OCPP message: %.200s", self.id, frame)
            if (
                self.answer_unknown_types
                and type(message) is list
                and len(message) >= 2
                and type(message[0]) is int
                and type(message[1]) is str
            ):
                await self._refuse(message[1], "MessageTypeNotSupported", "2, 3 or 4 expected")
            return None
        if message[0] != 2:
            return self._answer(message, frame)
        unique_id = message[1]
        if len(message) != 4:
            await self._refuse(unique_id, "RpcFrameworkError", "a CALL has 4 elements")
            return None
        action, payload = message[2], message[3]
        if type(action) is not str:
            await self._refuse(unique_id, "NotSupported", "the action must be a string")
            return None
        if type(payload) is not dict:
            await self._refuse(unique_id, "TypeConstraintViolation", "payload must be an object")
            return None
        self.payload = payload
        hand_checked = self.checks.get(action)
        if hand_checked is None:
            return frame
        check, field = hand_checked
        try:
            check(payload)
        except OCPPError as error:
            log.info("%s: %s answered with %s (%s)", self.id, action, error.code, error)
            await self._refuse(unique_id, error.code, error.description, error.details)
            return None
        lean = {name: value for name, value in payload.items() if name != field}
        return json.dumps([2, unique_id, action, lean], separators=(",", ":"))

    def _answer(self, message: list, frame: str) -> str | None:
        """A CALLRESULT or CALLERROR, passed on if one of our commands waits for it."""
        if message[1] not in self.pending:
            # Nothing waits: queued, it would only be skipped by the next command's wait.
            log.warning("%s: an answer to no command: %.200s", self.id, frame)
            return None
        if not (
            (message[0] == 3 and len(message) == 3) or (message[0] == 4 and len(message) in (4, 5))
        ):
            log.warning("%s: an answer of the wrong shape: %.200s", self.id, frame)
            return None
        self.pending.remove(message[1])
        return frame

    async def _unreadable(self, frame: str, error: ValueError) -> str | None:
        """A frame ``edge.loads`` refused: answered if its head says what to answer to."""
        # A syntax error, NaN or depth: FormatViolation. An EdgeError, or an integer of more
        # than 4,300 digits (Python's own limit, a ValueError of its own): a well-formed value
        # no column takes.
        code = "PropertyConstraintViolation"
        if isinstance(error, (json.JSONDecodeError, edge.NotPlainJson)):
            code, error = "FormatViolation", ValueError(f"not plain JSON: {error}")
        head = _HEAD.match(frame)
        if head is None:
            self.frames.record("in", frame, None)
            log.warning("%s: a frame with nothing to answer to (%s)", self.id, error)
            return None
        kind, unique_id = int(head[1]), head[2]
        self.frames.record("in", frame, [kind, unique_id, head[3]], payload_kept=False)
        log.info("%s: frame %s refused with %s (%s)", self.id, unique_id, code, error)
        if kind == 2:
            await self._refuse(unique_id, code, str(error))
            return None
        if unique_id not in self.pending:
            return None
        # An answer to our command: the command fails with the reason.
        self.pending.remove(unique_id)
        return _error(unique_id, code, f"the answer was refused: {error}")

    async def _refuse(
        self, unique_id: str, code: str, description: str, details: Any = None
    ) -> None:
        await self.send(_error(unique_id, code, description, details))


class Wired:
    """Mixed in before a library ChargePoint (ocpp.v16 or ocpp.v201): it speaks
    through a ``Wire`` that spells error codes as ``SPELLING`` does."""

    SPELLING: Callable[[str], str] = staticmethod(to_1_6_spelling)
    ANSWER_UNKNOWN_TYPES = False  # OCPP 2.0.1 answers them MessageTypeNotSupported
    # The hand checks are 1.6's (string values); 2.0.1 MeterValues go through the library's
    # schema, whose numbers and unitOfMeasure the hand check does not know.
    HAND_CHECKED: dict[str, tuple[Callable[[dict], None], str]] = CHECKS

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # The library asks inspect.signature of the handler for every CALL (does it take
        # call_unique_id?): 12 us of a MeterValues. A function's __signature__ (PEP 362) is
        # what inspect returns without working it out again.
        for name, function in vars(cls).items():
            if name.startswith("on_") and inspect.isfunction(function):
                function.__signature__ = inspect.signature(function)

    def __init__(
        self, charge_point_id: str, connection: Any, frames: FrameLog, response_timeout_s: float
    ) -> None:
        self.wire = Wire(charge_point_id, connection, frames, type(self).SPELLING)
        self.wire.answer_unknown_types = self.ANSWER_UNKNOWN_TYPES
        self.wire.checks = self.HAND_CHECKED
        super().__init__(  # type: ignore[call-arg]
            charge_point_id,
            self.wire,
            response_timeout=response_timeout_s,
            logger=LibraryLog(charge_point_id),
        )
        self.frames = frames


def _error(message_id: str, code: str, description: str, details: Any = None) -> str:
    return json.dumps([4, message_id, code, description, details or {}], separators=(",", ":"))
