"""The ocpp library's ChargePoint with its per-message costs taken out, for the central system.

Under load (bench/ocpp_load.py) the library spent more on each MeterValues than our handler
did: it parses the frame as JSON a second time, logs every frame at INFO, checks the handler's
signature with ``inspect`` on every call, converts every key to snake_case with two regular
expressions, and validates with jsonschema on a worker thread. Here a frame is parsed once,
logged at debug only (every frame is kept in ocpp_messages anyway), signatures and key
spellings are looked up once, and MeterValues is checked by ``meter_values_check``. What goes
on the wire is the same as the library's, answers and error codes included; the frame log and
the edge checks the library leaves to us (frames that are not OCPP at all) live here too.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from functools import lru_cache
from typing import Any

from ocpp.charge_point import (
    _raise_key_error,
    camel_to_snake_case,
    remove_nones,
    serialize_as_dict,
    snake_to_camel_case,
)
from ocpp.exceptions import OCPPError
from ocpp.messages import Call, validate_payload
from ocpp.v16 import ChargePoint
from websockets.exceptions import ConnectionClosed

from ingest.ocpp import meter_values_check
from ingest.ocpp.frames import FrameLog, ocpp_message, to_1_6_spelling

log = logging.getLogger(__name__)

# Handlers whose CALL is checked here, by hand, instead of by the library's jsonschema.
_CHECKS = {"MeterValues": meter_values_check.check}


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
            message = json.loads(frame)
        except ValueError:
            # No message id to answer to: kept in ocpp_messages (raw), nothing to reply.
            self.frames.record("in", frame, None)
            log.warning("%s: a frame that is not JSON", self.id)
            return
        self.frames.record("in", frame, ocpp_message(message))
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
            if _is_call(message):
                await self._route_call(Call(*message[1:]))
            else:  # answers to our commands, and oddities: the library's way
                await super().route_message(frame)
        except ConnectionClosed:
            raise  # the peer went away before its answer: the server logs a disconnect
        except Exception:
            # The library lets some failures escape (e.g. an action name that is not a string);
            # one bad frame must never end the connection, let alone the server.
            log.exception("%s: could not handle %.200s", self.id, frame)
            if isinstance(message, list) and len(message) > 1 and isinstance(message[1], str):
                await self._send(_error(message[1], "FormationViolation", "malformed message"))

    async def _route_call(self, msg: Call) -> None:
        """ChargePoint.route_message for a CALL, without parsing the frame again."""
        try:
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
            # The handler's own answer (e.g. storage full): _route_call sends it and logs one
            # line; a traceback for each refused message would flood the log under load.
            raise
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


def _is_call(message: Any) -> bool:
    """A well-formed CALL ``[2, id, action, {payload}]``; anything else goes the library's way."""
    return (
        type(message) is list
        and len(message) == 4
        and message[0] == 2
        and type(message[1]) is str
        and type(message[2]) is str
        and type(message[3]) is dict
    )


def _error(message_id: str, code: str, description: str) -> str:
    return json.dumps([4, message_id, code, description, {}], separators=(",", ":"))
