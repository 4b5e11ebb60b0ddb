"""Simulated OCPP 1.6 charge points for the demo and the benchmarks.

Each charger boots, sends heartbeats and status changes, authorizes, starts a transaction, sends
MeterValues every interval (energy register, power, current, SOC) along a plausible curve —
full power until 80 % SOC, then tapering — and stops at a target energy between kwh_min and
kwh_max. Now and then a connection drops (it reconnects and carries on) or a connector faults.
It obeys the operator: RemoteStartTransaction starts a session with the given id tag when the
connector is free, RemoteStopTransaction of the running transaction stops it (reason Remote);
anything else is Rejected, as a real charger answers.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action
from websockets.exceptions import ConnectionClosed, InvalidHandshake

log = logging.getLogger(__name__)

VOLTAGE_V = 230


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


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def charging_power_kw(max_kw: float, soc: float) -> float:
    """Constant power to 80 % SOC, then a linear taper to a trickle at 100 %."""
    if soc < 80:
        return max_kw
    return max(1.4, max_kw * (100 - soc) / 20)


class _Station(ChargePoint):
    """Answers operator commands as a well-behaved charger would; starts and stops go to the
    simulated charger that owns this connection."""

    def __init__(self, identity: str, connection, charger: SimulatedCharger) -> None:
        super().__init__(identity, connection)
        self.connection = connection  # the library's own attribute is private
        self.charger = charger

    @on(Action.reset)
    def on_reset(self, **kwargs) -> call_result.Reset:
        return call_result.Reset(status="Accepted")

    @on(Action.remote_start_transaction)
    def on_remote_start(self, id_tag: str, connector_id: int | None = None, **kwargs):
        accepted = self.charger.request_start(id_tag, connector_id)
        return call_result.RemoteStartTransaction(status="Accepted" if accepted else "Rejected")

    @on(Action.remote_stop_transaction)
    def on_remote_stop(self, transaction_id: int, **kwargs):
        accepted = self.charger.request_stop(transaction_id)
        return call_result.RemoteStopTransaction(status="Accepted" if accepted else "Rejected")

    @on(Action.unlock_connector)
    def on_unlock(self, **kwargs) -> call_result.UnlockConnector:
        return call_result.UnlockConnector(status="Unlocked")

    @on(Action.change_availability)
    def on_availability(self, **kwargs) -> call_result.ChangeAvailability:
        return call_result.ChangeAvailability(status="Accepted")

    @on(Action.change_configuration)
    def on_change_configuration(self, **kwargs) -> call_result.ChangeConfiguration:
        return call_result.ChangeConfiguration(status="Accepted")

    @on(Action.get_configuration)
    def on_get_configuration(self, **kwargs) -> call_result.GetConfiguration:
        return call_result.GetConfiguration(configuration_key=[])

    @on(Action.trigger_message)
    def on_trigger(self, **kwargs) -> call_result.TriggerMessage:
        return call_result.TriggerMessage(status="Accepted")


@dataclass
class _Session:
    transaction_id: int
    target_wh: float
    delivered_wh: float
    battery_kwh: float
    soc: float


class SimulatedCharger:
    def __init__(self, identity: str, options: FleetOptions, rng: random.Random) -> None:
        self.identity = identity
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
        self.planned = sorted((at, kwh) for c, at, kwh in options.plan if c == identity)
        self._limit = len(self.planned) if options.plan else options.sessions
        self._target_kwh: float | None = None

    def _now(self) -> str:
        return _iso(self.clock or datetime.now(UTC))

    def request_start(self, id_tag: str, connector_id: int | None) -> bool:
        """RemoteStartTransaction: only connector 1 exists, and it must be free."""
        if connector_id not in (None, 1) or self.session is not None or self._remote_tag:
            return False
        self._remote_tag = id_tag
        self._wake.set()
        return True

    def request_stop(self, transaction_id: int) -> bool:
        if self.session is None or self.session.transaction_id != transaction_id:
            return False
        self._stop_reason = "Remote"
        self._wake.set()
        return True

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake at once for an operator's start or stop; on a virtual clock only
        move the clock on."""
        if self.clock is not None:
            self.clock += timedelta(seconds=seconds * self.options.speed)
            await asyncio.sleep(0)  # let the connection's reader run
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
                    f"{self.options.url}/{self.identity}", subprotocols=["ocpp1.6"]
                ) as ws:
                    station = _Station(self.identity, ws, self)
                    reader = asyncio.create_task(station.start())
                    try:
                        await self._online(station)
                    finally:
                        reader.cancel()
            except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError) as exc:
                log.info("%s: connection lost (%s); reconnecting", self.identity, exc)
                if self.clock is None:
                    await asyncio.sleep(min(5.0, self.options.interval_s))

    async def _online(self, cp: _Station) -> None:
        await cp.call(call.BootNotification("Simulated AC", "wattline", firmware_version="1.0"))
        await cp.call(call.Heartbeat())
        status = "Charging" if self.session else "Available"
        await cp.call(call.StatusNotification(1, "NoError", status, timestamp=self._now()))
        while not self._finished():
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

    async def _start(self, cp: _Station) -> None:
        id_tag = self._remote_tag or f"TAG-{self.rng.randrange(1, 50):04d}"
        await cp.call(call.StatusNotification(1, "NoError", "Preparing", timestamp=self._now()))
        await cp.call(call.Authorize(id_tag))
        started = await cp.call(
            call.StartTransaction(1, id_tag, round(self.register_wh), self._now())
        )
        target_kwh = self.rng.uniform(self.options.kwh_min, self.options.kwh_max)
        if self._target_kwh is not None:
            target_kwh, self._target_kwh = self._target_kwh, None
        self.session = _Session(
            transaction_id=started.transaction_id,
            target_wh=target_kwh * 1000,
            delivered_wh=0.0,
            battery_kwh=self.rng.choice([40.0, 60.0, 77.0]),
            soc=self.rng.uniform(10, 50),
        )
        self._remote_tag = None  # only now: a second RemoteStart meanwhile is Rejected
        await cp.call(call.StatusNotification(1, "NoError", "Charging", timestamp=self._now()))

    async def _charge(self, cp: _Station) -> None:
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
            hours = self.options.interval_s * self.options.speed / 3600
            step_wh = min(power_kw * 1000 * hours, s.target_wh - s.delivered_wh)
            s.delivered_wh += step_wh
            self.register_wh += step_wh
            s.soc = min(100.0, s.soc + step_wh / 10 / s.battery_kwh)
            await cp.call(call.MeterValues(1, self._sample(power_kw), s.transaction_id))
            if faulted and s.delivered_wh > s.target_wh / 2:
                await cp.call(call.StatusNotification(1, "GroundFailure", "Faulted", self._now()))
                break
        await cp.call(
            call.StopTransaction(
                round(self.register_wh),
                self._now(),
                s.transaction_id,
                reason=self._stop_reason or ("Other" if faulted else "EVDisconnected"),
            )
        )
        self._stop_reason = None
        await cp.call(call.StatusNotification(1, "NoError", "Available", timestamp=self._now()))
        self.session = None
        self.sessions_done += 1

    def _sample(self, power_kw: float) -> list[dict]:
        assert self.session is not None
        values = [
            {"value": f"{self.register_wh:.0f}", "unit": "Wh"},
            {"value": f"{power_kw:.2f}", "measurand": "Power.Active.Import", "unit": "kW"},
            {
                "value": f"{power_kw * 1000 / VOLTAGE_V:.1f}",
                "measurand": "Current.Import",
                "phase": "L1",
                "unit": "A",
            },
            {"value": f"{self.session.soc:.0f}", "measurand": "SoC", "location": "EV"},
        ]
        return [{"timestamp": self._now(), "sampledValue": values}]


class Fleet:
    def __init__(self, options: FleetOptions) -> None:
        rng = random.Random(options.seed)
        names = options.names or [f"{options.prefix}-{i:04d}" for i in range(1, options.count + 1)]
        self.chargers = [
            SimulatedCharger(name, options, random.Random(rng.random())) for name in names
        ]

    async def run(self) -> None:
        await asyncio.gather(*(c.run() for c in self.chargers))
