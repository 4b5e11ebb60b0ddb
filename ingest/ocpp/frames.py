"""Every frame in and out, as ``ocpp_messages`` rows, and the OCPP 1.6 spelling of error codes.

Frames are logged per connection; a handler's batch takes any frames still waiting along with
it, and the rest (mostly replies) are flushed through the writer in the background, every
connection's together, so they share its group commits. What a frame holds is kept as far as
the database can take it: the payload as jsonb, or, when it cannot be jsonb (NUL, a lone
surrogate, NaN, too deep, not JSON at all), the frame as text with those escaped.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from datetime import UTC, datetime
from typing import Any

from ingest import edge
from ingest.edge import pg_text
from ingest.ocpp import redact
from ingest.writer import Batch, BatchRefused, SpoolFull, Writer
from wattline.observe import metrics

log = logging.getLogger(__name__)

# The ocpp library speaks OCPP 2.0's spelling and swaps NotImplemented/NotSupported; OCPP-J 1.6
# says "NotImplemented: Requested Action is not known by receiver".
ERROR_CODES_1_6 = {
    "FormatViolation": "FormationViolation",
    "OccurrenceConstraintViolation": "OccurenceConstraintViolation",
    "NotSupported": "NotImplemented",
    "RpcFrameworkError": "ProtocolError",  # 2.0.1's name for a CALL the wire cannot route
}
_ERROR_FIELDS = ("errorCode", "errorDescription", "errorDetails")
_UNPARSED: Any = object()  # "not parsed yet", as opposed to None: "not an OCPP message"


# OCPP-J 2.0.1: NotImplemented is an action not known, NotSupported one known but not served
# (the library swaps them), and a required field missing is an OccurrenceConstraintViolation
# (the library says ProtocolError, which 2.0.1 keeps for a payload not of the PDU's structure).
ERROR_CODES_2_0_1 = {
    "FormationViolation": "FormatViolation",
    "OccurenceConstraintViolation": "OccurrenceConstraintViolation",
    "NotSupported": "NotImplemented",
    "NotImplemented": "NotSupported",
    "ProtocolError": "OccurrenceConstraintViolation",
}


def respell(frame: str, codes: dict[str, str]) -> str:
    """A CALLERROR with its error code spelt by ``codes``; other frames unchanged."""
    if not frame.startswith("[4"):
        return frame
    message = parse(frame)
    if message is None or message[2] not in codes:
        return frame
    message[2] = codes[message[2]]
    return json.dumps(message, separators=(",", ":"))


def to_1_6_spelling(frame: str) -> str:
    """A CALLERROR with its error code spelt as OCPP 1.6 does; other frames unchanged."""
    return respell(frame, ERROR_CODES_1_6)


def to_2_0_1_spelling(frame: str) -> str:
    """A CALLERROR with its error code spelt as OCPP 2.0.1 does; other frames unchanged."""
    return respell(frame, ERROR_CODES_2_0_1)


def parse(frame: str) -> list | None:
    """The frame as an OCPP message ``[type, id, ...]``, or None if it is not one (or holds
    what the database would refuse)."""
    try:
        message = edge.loads(frame)
    except ValueError:
        return None
    return ocpp_message(message)


def ocpp_message(message: Any) -> list | None:
    """``message`` (parsed JSON) if it is an OCPP message ``[type, id, ...]``, else None."""
    if (
        isinstance(message, list)
        and len(message) >= 3
        and message[0] in (2, 3, 4)
        and isinstance(message[1], str)
    ):
        return message
    return None


def frame_row(
    charge_point_id: str,
    direction: str,
    frame: str,
    at: datetime,
    action: str | None,
    message: Any = _UNPARSED,
    *,
    payload_kept: bool = True,
) -> tuple:
    """An ``ocpp_messages`` row. A frame that is not an OCPP message is kept raw. ``message``
    is what ``parse`` makes of the frame, when the caller has it already; without
    ``payload_kept`` it is only the frame's head ``[type, id]`` (its payload could not be
    read) and the frame is kept raw beside it."""
    if message is _UNPARSED:
        message = parse(frame)
    if message is None:
        return (at, charge_point_id, direction, None, None, None, None, pg_text(frame))
    kind, message_id = message[0], message[1]
    if not payload_kept:
        return (at, charge_point_id, direction, kind, message_id, action, None, pg_text(frame))
    payload: Any
    if kind == 2:
        payload = message[3] if len(message) > 3 else None
    elif kind == 3:
        payload = message[2]
    else:
        payload = dict(zip(_ERROR_FIELDS, message[2:5], strict=False))
    try:
        # Parsed by edge.loads, so clean; checked again (cheaply) since jsonb refusing one row
        # would fail the batch it shares with other charge points.
        encoded = json.dumps(payload, allow_nan=False)
        if "\\u" in encoded:
            edge.check_strings(payload)
    except ValueError:
        return (at, charge_point_id, direction, kind, message_id, action, None, pg_text(frame))
    return (at, charge_point_id, direction, kind, message_id, action, encoded, None)


def as_text(row: tuple) -> tuple:
    """An ``ocpp_messages`` row as escaped text (raw) that PostgreSQL takes whatever it holds,
    for frames it refused as they were."""
    at, cp, direction, kind, message_id, action, payload, raw, *key = row
    text = pg_text(payload if payload is not None else raw or "")
    message_id, action = (v if v is None else pg_text(v) for v in (message_id, action))
    return (at, cp, direction, kind, message_id, action, None, text, *key)


class FrameLog:
    """The frames of one connection, waiting to be written."""

    def __init__(self, charge_point_id: str, writer: Writer) -> None:
        self.charge_point_id = charge_point_id
        self.writer = writer
        self._flusher = _Flusher.of(writer)
        self._rows: list[tuple] = []
        self._rejects: list[tuple] = []  # ingest_rejects rows, for the handler's batch
        self._actions: dict[str, str] = {}  # message id -> action of the CALL it belongs to
        self.last_call: tuple[str | None, str] = (None, "")  # (action, frame) being handled
        self.last_in = time.monotonic()  # when a frame last came in (for /metrics)

    def record(
        self, direction: str, frame: str, message: Any = _UNPARSED, *, payload_kept: bool = True
    ) -> None:
        """Keep ``frame``; ``message`` is what ``parse`` makes of it, if the caller has it
        already (parsing every frame again here cost as much as the handler), or just its head
        ``[type, id, action]`` when the payload could not be read (``payload_kept=False``)."""
        if redact.mentions_secret(frame):  # an AuthorizationKey's value is never stored
            frame, message = redact.text(frame), _UNPARSED
        if message is _UNPARSED:
            message = parse(frame)
        at, action = datetime.now(UTC), self._action(message)
        metrics.ocpp_frame(direction, message)
        if direction == "in":
            self.last_call = (action, frame)
            self.last_in = time.monotonic()
        row = frame_row(
            self.charge_point_id, direction, frame, at, action, message, payload_kept=payload_kept
        )
        self._rows.append(row)
        self._flusher.wake(self)

    def reject(self, reason: str) -> None:
        """Flag the CALL being handled in ingest_rejects, with its frame; the row goes with the
        handler's batch (``take_rejects``)."""
        action, frame = self.last_call
        key = f"{self.charge_point_id}/{action}"
        self._rejects.append((datetime.now(UTC), "ocpp", key, reason, pg_text(frame)))

    def take_rejects(self) -> list[tuple]:
        rejects, self._rejects = self._rejects, []
        return rejects

    def _action(self, message: list | None) -> str | None:
        """The action of a CALL, and of the CALLRESULT or CALLERROR that answers it."""
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
        rows = self.take()
        if rows:
            await self._flusher.write(rows)


class _Flusher:
    """Writes the frames no handler took (mostly the replies) for every connection of a writer
    at once: one writer batch per commit at most, where a task and a batch per frame cost more
    than the frame itself under load."""

    _by_writer: weakref.WeakKeyDictionary[Writer, _Flusher] = weakref.WeakKeyDictionary()

    @classmethod
    def of(cls, writer: Writer) -> _Flusher:
        flusher = cls._by_writer.get(writer)
        if flusher is None:
            flusher = cls._by_writer[writer] = cls(writer)
        return flusher

    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self._waiting: dict[FrameLog, None] = {}  # insertion-ordered set
        self._scheduled = False
        self._writing: asyncio.Task | None = None

    def wake(self, frames: FrameLog) -> None:
        self._waiting[frames] = None
        if not self._scheduled and self._writing is None:
            # A callback, not a task that polls: it runs once the handler that recorded the
            # frame has taken it into its own batch (as it does, before its first await), and
            # usually finds nothing left to write.
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._collect)

    def _take(self) -> list[tuple]:
        waiting, self._waiting = self._waiting, {}
        return [row for frames in waiting for row in frames.take()]

    def _collect(self) -> None:
        self._scheduled = False
        rows = self._take()
        if rows:
            self._writing = asyncio.create_task(self._write_all(rows))

    async def _write_all(self, rows: list[tuple]) -> None:
        try:
            while rows:  # frames recorded during a write go together in the next
                await self.write(rows)
                rows = self._take()
        finally:
            self._writing = None

    async def write(self, rows: list[tuple]) -> None:
        try:
            try:
                await self.writer.write(Batch(rows={"ocpp_messages": rows}))
            except BatchRefused:
                # One connection's odd frame must not cost every connection's frames.
                await self.writer.write(Batch(rows={"ocpp_messages": list(map(as_text, rows))}))
        except SpoolFull as exc:  # the writer says so once; no traceback for every flush
            log.debug("could not store %d frame(s): %s", len(rows), exc)
        except Exception:
            log.exception("could not store %d frame(s)", len(rows))
