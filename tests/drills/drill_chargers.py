"""Charge points for the drills: real WebSocket clients that keep their MeterValues in a queue
and send them one at a time, as a real charger keeps its transaction messages. A CALL that is
not answered (the connection dropped, the central system went away) is sent again, with the
same message id, once the charger has reconnected; a CALLERROR is retried a little later (OCPP
1.6 TransactionMessageRetryInterval). A message counts as acknowledged when its CALLRESULT
arrives, and only then leaves the queue.

Message n of a charger is its energy register at ``t0 + n`` seconds: ENERGY0 + STEP_WH * n Wh,
plus a power sample, so every message has one natural key (charger, time) and a known value.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from datetime import datetime, timedelta

import websockets
from websockets.exceptions import ConnectionClosed, InvalidHandshake

ENERGY0 = 1_000_000
STEP_WH = 10
REPLY_TIMEOUT_S = 10.0  # then the charger gives up on the connection and re-sends on a new one
RETRY_S = 0.5  # after a CALLERROR, before the same message goes again
RECONNECT_S = 0.2


class Charger:
    def __init__(self, identity: str, url: str, t0: datetime) -> None:
        self.identity = identity
        self.url = url
        self.t0 = t0
        self.queue: deque[int] = deque()
        self.acknowledged: list[int] = []
        self.refused = 0  # CALLERRORs received
        self.errors: list[str] = []  # their texts, the first few
        self.resent = 0  # CALLs sent again (no answer, or a CALLERROR)
        self.reconnects = 0
        self.in_flight: int | None = None
        self._next = 0
        self._more = asyncio.Event()
        self._sent: set[int] = set()

    def produce(self) -> None:
        """One more MeterValues due: it joins the queue."""
        self.queue.append(self._next)
        self._next += 1
        self._more.set()

    @property
    def produced(self) -> int:
        return self._next

    def time_of(self, n: int) -> datetime:
        return self.t0 + timedelta(seconds=n)

    def message_id(self, n: int) -> str:
        return f"{self.identity}-{n}"

    def frame(self, n: int) -> str:
        at = self.time_of(n).isoformat().replace("+00:00", "Z")
        sampled = [
            {"value": str(ENERGY0 + STEP_WH * n), "measurand": "Energy.Active.Import.Register",
             "unit": "Wh"},
            {"value": "7400", "measurand": "Power.Active.Import", "unit": "W"},
        ]  # fmt: skip
        payload = {"connectorId": 1, "meterValue": [{"timestamp": at, "sampledValue": sampled}]}
        return json.dumps([2, self.message_id(n), "MeterValues", payload])

    async def run(self, done: asyncio.Event) -> None:
        """Send the queue, oldest first, until ``done`` is set and nothing is left."""
        ws = None
        try:
            while True:
                if not self.queue:
                    if done.is_set():
                        return
                    self._more.clear()
                    await _first(self._more.wait(), done.wait())
                    continue
                if ws is None:
                    ws = await self._connect()
                n = self.queue[0]
                if n in self._sent:
                    self.resent += 1
                self._sent.add(n)
                self.in_flight = n
                try:
                    await ws.send(self.frame(n))
                    reply = await self._reply(ws, self.message_id(n))
                except (ConnectionClosed, OSError, TimeoutError):
                    await ws.close()
                    ws = None
                    continue
                self.in_flight = None
                if reply[0] == 3:
                    self.acknowledged.append(n)
                    self.queue.popleft()
                else:
                    self.refused += 1
                    if len(self.errors) < 3:
                        self.errors.append(json.dumps(reply))
                    await asyncio.sleep(RETRY_S)
        finally:
            if ws is not None:
                await ws.close()

    async def _connect(self):
        while True:
            try:
                ws = await websockets.connect(
                    self.url,
                    subprotocols=["ocpp1.6"],
                    open_timeout=5,
                    close_timeout=1,
                    ping_interval=None,
                )
                self.reconnects += 1
                return ws
            except (OSError, InvalidHandshake, TimeoutError):
                await asyncio.sleep(RECONNECT_S)

    async def _reply(self, ws, message_id: str) -> list:
        """The CALLRESULT or CALLERROR for ``message_id``; other frames are ignored."""
        async with asyncio.timeout(REPLY_TIMEOUT_S):
            while True:
                frame = json.loads(await ws.recv())
                if frame[0] in (3, 4) and frame[1] == message_id:
                    return frame


async def _first(*waits) -> None:
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()


class Fleet:
    """``count`` chargers, each producing a MeterValues every ``interval_s``."""

    def __init__(self, prefix: str, count: int, port: int, t0: datetime) -> None:
        url = f"ws://127.0.0.1:{port}/ocpp/"
        self.chargers = [Charger(f"{prefix}-{i:02d}", url + f"{prefix}-{i:02d}", t0)
                         for i in range(count)]  # fmt: skip
        self.done = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._producer: asyncio.Task | None = None

    def start(self, interval_s: float) -> None:
        self._tasks = [asyncio.create_task(c.run(self.done)) for c in self.chargers]
        self._producer = asyncio.create_task(self._produce(interval_s))

    async def _produce(self, interval_s: float) -> None:
        while True:
            for c in self.chargers:
                c.produce()
            await asyncio.sleep(interval_s)

    async def finish(self, timeout_s: float) -> None:
        """Stop producing and wait (at most ``timeout_s``) for every queue to be sent."""
        assert self._producer is not None
        self._producer.cancel()
        self.done.set()
        _, late = await asyncio.wait(self._tasks, timeout=timeout_s)
        for t in late:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def in_flight(self) -> int:
        """Chargers with a CALL sent and not answered."""
        return sum(c.in_flight is not None for c in self.chargers)

    @property
    def acknowledged(self) -> int:
        return sum(len(c.acknowledged) for c in self.chargers)

    @property
    def refused(self) -> int:
        return sum(c.refused for c in self.chargers)

    @property
    def resent(self) -> int:
        return sum(c.resent for c in self.chargers)

    @property
    def unsent(self) -> int:
        return sum(len(c.queue) for c in self.chargers)
