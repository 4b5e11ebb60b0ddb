"""The demo's simulated devices, with history: chargers and meters start 30 days back on a
virtual clock, send those days through the real OCPP server and the real broker (the ingest
stores them as it stores anything), and, once their clocks reach now, carry on live with the
same registers and balances. Nothing is inserted behind the ingest's back.

The chargers run wattline.demo_history's plan, so the fill's sessions and energy are known up
front; the meters step every 15 minutes, the settlement period, while filling.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TextIO

from ingest.mqtt import simulator as meter_simulator
from ingest.mqtt.config import MqttConfig
from ingest.ocpp.simulator import Fleet, FleetOptions
from wattline import demo_history

METER_STEP_S = 900.0  # history readings every 15 minutes
# Simulated seconds per interval while filling: 10 s x 90 = a reading every 15 minutes.
CHARGER_HISTORY_SPEED = 90.0


@dataclass(frozen=True)
class FillOptions:
    chargers: list[str]
    meters: int
    days: int
    ocpp_url: str  # up to /ocpp
    mqtt: MqttConfig
    meter_prefix: str
    interval_s: float = 10.0  # live
    seed: int = 17
    ocpp: str = "mix"


class DemoDevices:
    """The chargers (one asyncio loop in a thread) and meters (a thread), filling then live."""

    def __init__(self, options: FillOptions, now: datetime | None = None) -> None:
        self.options = options
        self.now = now or datetime.now(UTC)
        self.start = self.now - timedelta(days=options.days)
        self.plan = demo_history.plan(options.chargers, options.days, self.now, options.seed)
        self.fleet = Fleet(
            FleetOptions(
                count=len(options.chargers),
                url=options.ocpp_url,
                kwh_min=5,
                kwh_max=30,
                interval_s=options.interval_s,
                names=tuple(options.chargers),
                speed=CHARGER_HISTORY_SPEED,
                seed=options.seed,
                start=self.start,
                plan=tuple((p.charger, p.start, p.energy_wh / 1000) for p in self.plan),
                live_after_plan=True,
                ocpp=options.ocpp,
            )
        )
        self.meters_at = self.start
        self.meter_messages = 0
        self._stop = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []

    def max_power_kw(self) -> dict[str, float]:
        return {c.identity: c.max_kw for c in self.fleet.chargers}

    def start_all(self) -> None:
        # The library logs every frame at INFO and the fill sends a quarter of a million: in
        # the demo's terminal that would bury the progress bar (the server keeps its frame log).
        for name in ("ocpp", "ingest.ocpp.simulator", "websockets"):
            logging.getLogger(name).setLevel(logging.WARNING)
        self._threads = [
            threading.Thread(target=self._chargers, name="demo-chargers", daemon=True),
            threading.Thread(target=self._meters, name="demo-meters", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _chargers(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.current_task()
            await self.fleet.run()

        try:
            asyncio.run(main())
        except asyncio.CancelledError:
            pass
        except BaseException as exc:  # reported by the demo, which stops
            self.errors.append(exc)

    def _meters(self) -> None:
        def progress(at: datetime, published: int) -> None:
            self.meters_at, self.meter_messages = at, published

        try:
            meter_simulator.run(
                self.options.mqtt,
                self.options.meters,
                self.options.interval_s,
                serial_prefix=self.options.meter_prefix,
                stop=self._stop,
                start=self.start,
                history_step_s=METER_STEP_S,
                progress=progress,
                seed=self.options.seed,
            )
        except BaseException as exc:
            self.errors.append(exc)

    def progress(self) -> float:
        """The share of the history sent, 0..1: planned sessions finished and meter time."""
        total = len(self.plan)
        left = sum(c.planned_left() for c in self.fleet.chargers if not c.live)
        chargers = 1.0 if not total else (total - left) / total
        span = (self.now - self.start).total_seconds()
        meters = min(1.0, (self.meters_at - self.start).total_seconds() / span)
        return min(chargers, meters)

    def history_sent(self) -> bool:
        return all(c.live for c in self.fleet.chargers) and self.meters_at >= self.now

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        for thread in self._threads:
            thread.join(timeout_s)


def progress_bar(share: float, width: int = 30) -> str:
    done = round(share * width)
    return f"[{'#' * done}{'.' * (width - done)}] {share:4.0%}"


def wait_for_history(
    devices: DemoDevices,
    report: Callable[[str, float], None],
    alive: Callable[[], bool],
    every_s: float = 1.0,
) -> bool:
    """Report progress until the history is sent; False when ``alive`` says to give up."""
    started = time.monotonic()
    while not devices.history_sent():
        if devices.errors or not alive():
            return False
        elapsed = time.monotonic() - started
        share = devices.progress()
        report(f"history {progress_bar(share)}  {elapsed:5.0f} s", min(share, 0.99))
        time.sleep(every_s)
    report(f"history {progress_bar(1.0)}  {time.monotonic() - started:5.0f} s", 1.0)
    return True


class Progress:
    """On a terminal one line redrawn in place; in a log file a line every 10 %."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.tty = self.out.isatty()
        self._logged = -1

    def show(self, line: str, share: float) -> None:
        if self.tty:
            end = "\n" if share >= 1 else ""
            self.out.write(f"\r{line}{end}")
        elif (tenth := int(share * 10)) > self._logged:
            self._logged = tenth
            self.out.write(line + "\n")
        self.out.flush()


def ready(port: int) -> bool:
    """The child on ``port`` answers /readyz with 200 (the database and, for MQTT, the
    subscriptions are up): sending before the ingest subscribed would lose the first readings."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def store_and_refresh(
    dsn: str, devices: DemoDevices, log: Callable[[str], None], timeout_s: float = 120.0
) -> None:
    """Wait until the ingest has stored the meters' history (acknowledged OCPP messages are
    stored already), then refresh every rollup so the first page shows the month."""
    from sql import db, rollups

    last_step = devices.now - timedelta(seconds=METER_STEP_S)
    deadline = time.monotonic() + timeout_s
    with db.connect(dsn, autocommit=True) as conn:
        while time.monotonic() < deadline:
            newest = conn.execute(
                "SELECT max(time) AS newest FROM wattline.register_readings"
            ).fetchone()["newest"]
            if newest is not None and newest >= last_step:
                break
            time.sleep(0.5)
        else:
            log("the meters' history is still being stored; rollups will catch up")
        started = time.monotonic()
        rollups.refresh(conn)
        log(f"rollups refreshed in {time.monotonic() - started:.1f} s")
