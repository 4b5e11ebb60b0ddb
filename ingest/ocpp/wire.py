"""The ocpp library's ChargePoint with its per-message costs taken out, for the central system.

Under load (bench/ocpp_load.py) the library spent more on each MeterValues than our handler
did: it parses the frame as JSON a second time, logs every frame at INFO, checks the handler's
signature with ``inspect`` on every call, converts every key to snake_case with two regular
expressions, and validates with jsonschema on a worker thread. Here a frame is parsed once,
logged at debug only (every frame is kept in ocpp_messages anyway), signatures and key
spellings are looked up once, and MeterValues is checked by ``meter_values_check``. What goes
on the wire is the same as the library's, answers and error codes included; the frame log and
the edge checks the library leaves to us live here too.

Edge checks: each frame is parsed by ``edge.loads``, which refuses what the database could not
store. A CALL holding such a thing is answered (OCPP-J 1.6 spelling) with FormationViolation
when the frame is not plain JSON (NaN, Infinity, nested deeper than 16, a syntax error) and with
PropertyConstraintViolation when it is JSON holding a value no column takes (NUL or a lone
surrogate in a string, a number beyond float range or of more than 4,300 digits); an answer to
one of our commands that holds one fails that command with the same code. A frame without a
message id to answer to is kept and otherwise ignored. No frame closes the connection;
InternalError is left for our own bugs, each logged with its traceback.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import re
from functools import lru_cache
from typing import Any

from ocpp.charge_point import (
    _raise_key_error,
    camel_to_snake_case,
    remove_nones,
    serialize_as_dict,
    snake_to_camel_case,
)
from ocpp.exceptions import OCPPError, TypeConstraintViolationError
from ocpp.messages import Call, CallError, CallResult, validate_payload
from ocpp.v16 import ChargePoint
from websockets.exceptions import ConnectionClosed

from ingest import edge
from ingest.ocpp import meter_values_check
from ingest.ocpp.frames import FrameLog, ocpp_message, to_1_6_spelling

log = logging.getLogger(__name__)

# Handlers whose CALL is checked here, by hand, instead of by the library's jsonschema.
_CHECKS = {"MeterValues": meter_values_check.check}

# The head of a frame whose whole could not be read: ``[type, "id"`` and maybe ``, "Action"``.
# An id with escapes in it is not taken: it could hold what the frame log cannot.
_HEAD = re.compile(
    r'\s*\[\s*([234])\s*,\s*"([^"\\\x00-\x1f]{1,128})"(?:\s*,\s*"([^"\\\x00-\x1f]{1,64})")?'
)


class WireChargePoint(ChargePoint):
    def __init__(
        self, charge_point_id: str, connection: Any, frames: FrameLog, response_timeout_s: float
    ) -> None:
        super().__init__(charge_point_id, connection, response_timeout=response_timeout_s)
        self.frames = frames

    async def start(self) -> None:
        # The library's own loop logs every frame at INFO, a formatted line per message.
        while True:
            frame = await self._connection.recv()
            log.debug("%s: received %s", self.id, frame)
            await self.route_message(frame)

    async def route_message(self, raw_msg: str | bytes) -> None:
        frame = raw_msg if isinstance(raw_msg, str) else raw_msg.decode("utf-8", "replace")
        try:
            message = edge.loads(frame)
        except ValueError as error:
            await self._unreadable(frame, error)
            return
        self.frames.record("in", frame, ocpp_message(message))
        if not (
            type(message) is list
            and len(message) >= 2
            and message[0] in (2, 3, 4)
            and type(message[1]) is str
        ):
            log.warning("%s: a frame that is not an OCPP message: %.200s", self.id, frame)
            return
        try:
            if message[0] == 2:
                await self._route_call(message)
            else:
                self._take_answer(message)
        except ConnectionClosed:
            raise  # the peer went away before its answer: the server logs a disconnect
        except Exception:
            # Our bug: one frame must never end the connection, let alone the server.
            log.exception("%s: could not handle %.200s", self.id, frame)
            if message[0] == 2:
                await self._send(_error(message[1], "InternalError", "see the server's log"))

    async def _unreadable(self, frame: str, error: ValueError) -> None:
        """A frame ``edge.loads`` refused: answered if its head says what to answer to."""
        # A syntax error, NaN or depth: FormationViolation. An EdgeError, or an integer of more
        # than 4,300 digits (Python's own limit, a ValueError of its own): a well-formed value
        # no column takes.
        code = "PropertyConstraintViolation"
        if isinstance(error, (json.JSONDecodeError, edge.NotPlainJson)):
            code, error = "FormatViolation", ValueError(f"not plain JSON: {error}")
        head = _HEAD.match(frame)
        if head is None:
            self.frames.record("in", frame, None)
            log.warning("%s: a frame with nothing to answer to (%s)", self.id, error)
            return
        kind, unique_id = int(head[1]), head[2]
        self.frames.record("in", frame, [kind, unique_id, head[3]], payload_kept=False)
        log.info("%s: frame %s refused with %s (%s)", self.id, unique_id, code, error)
        if kind == 2:
            await self._send(_error(unique_id, code, str(error)))
        else:  # an answer to our command: the command fails with the reason
            self._take_answer([4, unique_id, code, f"the answer was refused: {error}", {}])

    def _take_answer(self, message: list) -> None:
        """A CALLRESULT or CALLERROR, for the command waiting for it (``call``)."""
        if not self._call_lock.locked():
            # Nothing is waiting: queued, it would only be skipped by the next command's wait.
            log.warning("%s: an answer to no command: %.200s", self.id, message)
        elif message[0] == 3 and len(message) == 3:
            self._response_queue.put_nowait(CallResult(message[1], message[2]))
        elif message[0] == 4 and len(message) in (4, 5):
            self._response_queue.put_nowait(CallError(*message[1:]))
        else:
            log.warning("%s: an answer of the wrong shape: %.200s", self.id, message)

    async def _route_call(self, message: list) -> None:
        """ChargePoint.route_message for a CALL, without parsing the frame again."""
        if len(message) != 4:
            await self._send(_error(message[1], "ProtocolError", "a CALL has 4 elements"))
            return
        msg = Call(*message[1:])
        try:
            if type(msg.action) is not str or msg.action not in self.route_map:
                _raise_key_error(msg.action, self._ocpp_version)
            if type(msg.payload) is not dict:
                raise TypeConstraintViolationError(details={"cause": "payload must be an object"})
            check = _CHECKS.get(msg.action)
            if check is not None:
                check(msg.payload)
            await self._handle_call(msg)
        except OCPPError as error:
            log.info("%s: %s answered with %s (%s)", self.id, msg.action, error.code, error)
            await self._send(msg.create_call_error(error).to_json())

    async def _handle_call(self, msg: Call) -> None:
        """ChargePoint._handle_call (ocpp 2.x) step for step, with the signature check and the
        snake_case keys looked up once rather than worked out again for every message."""
        handlers = self.route_map.get(msg.action)
        if handlers is None:
            _raise_key_error(msg.action, self._ocpp_version)
            return
        skip_validation = handlers.get("_skip_schema_validation", False)
        if not skip_validation:
            await validate_payload(msg, self._ocpp_version)
        arguments = _snake_case(msg.payload)
        handler = handlers.get("_on_action")
        if handler is None:
            _raise_key_error(msg.action, self._ocpp_version)
            return
        try:
            response = handler(**_with_unique_id(handler, arguments, msg))
            if inspect.isawaitable(response):
                response = await response
        except OCPPError:
            raise  # bad input the handler found: answered with its code, no traceback
        except Exception as e:
            log.exception("%s: error while handling %s", self.id, msg.action)
            await self._send(msg.create_call_error(e).to_json())
            return
        payload = snake_to_camel_case(remove_nones(serialize_as_dict(response)))
        result = msg.create_call_result(payload)
        if not skip_validation:
            await validate_payload(result, self._ocpp_version)
        await self._send(result.to_json())
        after = handlers.get("_after_action")
        if after is not None:
            response = after(**_with_unique_id(after, arguments, msg))
            if inspect.isawaitable(response):
                # A task, so that a call made from the after-handler does not block this loop.
                asyncio.ensure_future(response)

    async def _send(self, message: str) -> None:
        message = to_1_6_spelling(message)
        self.frames.record("out", message)
        log.debug("%s: sending %s", self.id, message)
        await self._connection.send(message)  # not super()._send: it logs each frame at INFO


def _with_unique_id(handler: Any, arguments: dict[str, Any], msg: Call) -> dict[str, Any]:
    """The handler's keyword arguments: call_unique_id only if it asks for it by name."""
    if _takes_unique_id(getattr(handler, "__func__", handler)):
        return {**arguments, "call_unique_id": msg.unique_id}
    return arguments


@lru_cache(maxsize=256)
def _takes_unique_id(function: Any) -> bool:
    return "call_unique_id" in inspect.signature(function).parameters


def _snake_case(data: Any) -> Any:
    """camel_to_snake_case, with each key's spelling remembered."""
    if isinstance(data, dict):
        return {_snake_key(k): _snake_case(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_snake_case(v) for v in data]
    return data


@lru_cache(maxsize=4096)  # bounded: keys come from the chargers
def _snake_key(key: str) -> str:
    (snake,) = camel_to_snake_case({key: None})
    return snake


def _error(message_id: str, code: str, description: str) -> str:
    return json.dumps([4, message_id, code, description, {}], separators=(",", ":"))
