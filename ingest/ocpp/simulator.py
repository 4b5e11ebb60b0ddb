"""Simulated OCPP 1.6 and 2.0.1 charge points for the demo and the benchmarks.

Each charger boots, sends heartbeats and status changes, authorizes, starts a transaction, sends
MeterValues every interval (energy register, power, current, SOC) along a plausible curve —
full power until 80 % SOC, then tapering — and stops at a target energy between kwh_min and
kwh_max. Now and then a connection drops (it reconnects and carries on) or a connector faults.
It obeys the operator: RemoteStartTransaction (2.0.1: RequestStartTransaction) starts a session
with the given id tag when the connector is free, RemoteStopTransaction (RequestStopTransaction)
of the running transaction stops it (reason Remote). The messages of each version come from
ingest/ocpp/sim_dialects.py.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import websockets
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from ingest.ocpp.sim_dialects import Reading, dialect

log = logging.getLogger(__name__)

MIX_EVERY = 4  # --ocpp mix: every fourth charger speaks 2.0.1


@dataclass(frozen=True)
class FleetOptions:
    count: int
    url: str  # up to /ocpp; the charger id is appended
    kwh_min: float
    kwh_max: float
    interval_s: float
    prefix: str = "SIM"
    sessions: int = 0  # per charger; 0 runs forever
    speed: float = 1.0  # simulated seconds per real second, for energy
    fault_rate: float = 0.05  # per session
    drop_rate: float = 0.02  # per MeterValues
    seed: int | None = None
    auto_start: bool = True  # False: sessions start only by RemoteStartTransaction
    names: tuple[str, ...] = ()  # explicit charge point ids instead of PREFIX-0001, ...
    # A virtual clock (the demo's history fill): every timestamp comes from it, pauses advance
    # it by interval_s * speed instead of sleeping. The caller picks a start early enough that
    # the sessions end before now, or the server refuses future times.
    start: datetime | None = None
    # With a virtual clock: (charger id, start, kWh) of each session to run, instead of random
    # starts and targets (wattline.demo_history.plan), so the fill's totals are known up front.
    plan: tuple[tuple[str, datetime, float], ...] = ()
    # With a virtual clock: once a charger's plan is done, or its clock reaches the wall clock,
    # it carries on live (wall clock, speed 1, random sessions for ever): the demo fills its
    # history and then runs, with the same registers, so no reading looks like a meter reset.
    live_after_plan: bool = False
    # "1.6", "2.0.1", or "mix": every MIX_EVERY-th charger on 2.0.1, the rest on 1.6.
    ocpp: str = "1.6"

    def version_of(self, index: int) -> str:
        """The OCPP version of the index-th charger (from 0)."""
        if self.ocpp == "mix":
            return "2.0.1" if index % MIX_EVERY == MIX_EVERY - 1 else "1.6"
        return self.ocpp


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def charging_power_kw(max_kw: float, soc: float) -> float:
    """Constant power to 80 % SOC, then a linear taper to a trickle at 100 %."""
    if soc < 80:
        return max_kw
    return max(1.4, max_kw * (100 - soc) / 20)


@dataclass
class _Session:
    transaction_id: int | str  # 2.0.1 stations name their transactions
    target_wh: float
    delivered_wh: float
    battery_kwh: float
    soc: float


class SimulatedCharger:
    def __init__(
        self, identity: str, options: FleetOptions, rng: random.Random, version: str = "1.6"
    ) -> None:
        self.identity = identity
        self.dialect = dialect(version, identity)
        self.options = options
        self.rng = rng
        self.max_kw = rng.choice([7.4, 11.0, 22.0])
        self.register_wh = float(rng.randrange(0, 5_000_000))
        self.session: _Session | None = None
        self.sessions_done = 0
        self._remote_tag: str | None = None  # a RemoteStartTransaction waiting to start
        self._stop_reason: str | None = None  # a RemoteStopTransaction for the running session
        self._wake = asyncio.Event()
        self.clock = options.start  # None: the wall clock
        self.speed = options.speed
        self.planned = sorted((at, kwh) for c, at, kwh in options.plan if c == identity)
        self._limit = len(self.planned) if options.plan else options.sessions
        self._target_kwh: float | None = None

    @property
    def live(self) -> bool:
        """On the wall clock: no history left to fill."""
        return self.clock is None

    def planned_left(self) -> int:
        """Planned sessions not yet finished (the one running counts)."""
        return len(self.planned) + (self.session is not None and self.clock is not None)

    def _maybe_go_live(self) -> None:
        if not self.options.live_after_plan or self.clock is None:
            return
        if self.clock >= datetime.now(UTC) or (not self.planned and self.session is None):
            # Speed 1 from now on: readings are stamped with the wall clock, and energy faster
            # than the connector's power would be held as suspect (migration 0018).
            self.clock, self.speed, self._limit, self.planned = None, 1.0, 0, []

    def _now(self) -> str:
        return _iso(self.clock or datetime.now(UTC))

    def request_start(self, id_tag: str, connector_id: int | None) -> bool:
        """RemoteStartTransaction: only connector 1 exists, and it must be free."""
        if connector_id not in (None, 1) or self.session is not None or self._remote_tag:
            return False
        self._remote_tag = id_tag
        self._wake.set()
        return True

    def request_stop(self, transaction_id: int | str) -> bool:
        if self.session is None or self.session.transaction_id != transaction_id:
            return False
        self._stop_reason = "Remote"
        self._wake.set()
        return True

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake at once for an operator's start or stop; on a virtual clock only
        move the clock on."""
        if self.clock is not None:
            self.clock += timedelta(seconds=seconds * self.speed)
            await asyncio.sleep(0)  # let the connection's reader run
            self._maybe_go_live()
            if self.clock is not None:
                return
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except TimeoutError:
            pass
        self._wake.clear()

    def _finished(self) -> bool:
        return 0 < self._limit <= self.sessions_done

    async def run(self) -> None:
        """Connect, charge, and reconnect after any drop until the sessions are done."""
        while not self._finished():
            try:
                async with websockets.connect(
                    f"{self.options.url}/{self.identity}", subprotocols=[self.dialect.subprotocol]
                ) as ws:
                    station = self.dialect.station(self.identity, ws, self)
                    reader = asyncio.create_task(station.start())
                    try:
                        await self._online(station)
                    finally:
                        reader.cancel()
            except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError) as exc:
                log.info("%s: connection lost (%s); reconnecting", self.identity, exc)
                if self.clock is None:
                    await asyncio.sleep(min(5.0, self.options.interval_s))

    async def _online(self, cp: Any) -> None:
        say = self.dialect
        await cp.call(say.boot())
        await cp.call(say.heartbeat())
        await cp.call(say.status("Charging" if self.session else "Available", self._now()))
        while not self._finished():
            self._maybe_go_live()
            if self.session is None:
                if self.options.auto_start:
                    await self._pause(self.rng.uniform(0, self.options.interval_s))
                else:
                    await self._pause(3600)
                if self._remote_tag is None and not self.options.auto_start:
                    continue
                if self.planned and self.clock is not None:
                    at, self._target_kwh = self.planned.pop(0)
                    self.clock = max(self.clock, at)
                await self._start(cp)
            await self._charge(cp)

    async def _start(self, cp: Any) -> None:
        say = self.dialect
        id_tag = self._remote_tag or f"TAG-{self.rng.randrange(1, 50):04d}"
        await cp.call(say.status("Preparing", self._now()))
        await cp.call(say.authorize(id_tag))
        transaction = await say.start(cp, id_tag, self.register_wh, self._now())
        target_kwh = self.rng.uniform(self.options.kwh_min, self.options.kwh_max)
        if self._target_kwh is not None:
            target_kwh, self._target_kwh = self._target_kwh, None
        self.session = _Session(
            transaction_id=transaction,
            target_wh=target_kwh * 1000,
            delivered_wh=0.0,
            battery_kwh=self.rng.choice([40.0, 60.0, 77.0]),
            soc=self.rng.uniform(10, 50),
        )
        self._remote_tag = None  # only now: a second RemoteStart meanwhile is Rejected
        await cp.call(say.status("Charging", self._now()))

    async def _charge(self, cp: Any) -> None:
        say = self.dialect
        s = self.session
        assert s is not None
        faulted = self.rng.random() < self.options.fault_rate
        while s.delivered_wh < s.target_wh and self._stop_reason is None:
            await self._pause(self.options.interval_s)
            if self._stop_reason is not None:
                break
            if self.rng.random() < self.options.drop_rate:
                await cp.connection.close()  # a dropped link; run() reconnects
                return
            power_kw = charging_power_kw(self.max_kw, s.soc) * self.rng.uniform(0.97, 1.0)
            hours = self.options.interval_s * self.speed / 3600
            step_wh = min(power_kw * 1000 * hours, s.target_wh - s.delivered_wh)
            s.delivered_wh += step_wh
            self.register_wh += step_wh
            s.soc = min(100.0, s.soc + step_wh / 10 / s.battery_kwh)
            reading = Reading(self._now(), self.register_wh, power_kw, s.soc)
            await cp.call(say.meter(s.transaction_id, reading))
            if faulted and s.delivered_wh > s.target_wh / 2:
                await cp.call(say.status("Faulted", self._now(), "GroundFailure"))
                break
        reason = self._stop_reason or ("Other" if faulted else "EVDisconnected")
        await cp.call(say.stop(s.transaction_id, self.register_wh, self._now(), reason))
        self._stop_reason = None
        await cp.call(say.status("Available", self._now()))
        self.session = None
        self.sessions_done += 1
        self._maybe_go_live()


class Fleet:
    def __init__(self, options: FleetOptions) -> None:
        rng = random.Random(options.seed)
        names = options.names or [f"{options.prefix}-{i:04d}" for i in range(1, options.count + 1)]
        self.chargers = [
            SimulatedCharger(name, options, random.Random(rng.random()), options.version_of(i))
            for i, name in enumerate(names)
        ]

    async def run(self) -> None:
        await asyncio.gather(*(c.run() for c in self.chargers))
