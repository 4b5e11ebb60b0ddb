"""`wattline demo`: every part of wattline as child processes on the local database and broker,
with simulated chargers and meters, stopped together on Ctrl-C or SIGTERM.

The ingest starts first; the simulated devices then send the last 30 days through it on a
virtual clock (wattline.demo_fill) and carry on live, and only then do the jobs and the
dashboard start, so the first page already shows a month of history.

Each child runs in its own process group, so the terminal's Ctrl-C reaches only this process,
which then stops the children in order (simulators first, so the ingest can take their last
messages) and kills any group that does not stop in time: nothing is left behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STOP_TIMEOUT_S = 10.0
DEVICE_PREFIX = "DEMO"  # simulated charge points DEMO-0001, ...; meters DEMO000000, ...
# How a child runs `wattline ARGS` (the same interpreter, so the same environment).
ENTRY = [sys.executable, "-m", "wattline.cli"]


@dataclass(frozen=True)
class DemoOptions:
    chargers: int = 20
    meters: int = 50
    ocpp_port: int = 9000
    dashboard_port: int = 8501
    dashboard_address: str = "127.0.0.1"
    interval_s: float = 10.0
    history_days: int = 30  # filled through the real ingest before the demo goes live
    log_dir: Path = Path("var/demo")

    def charger_ids(self) -> list[str]:
        return [f"{DEVICE_PREFIX}-{n:04d}" for n in range(1, self.chargers + 1)]


def ingest_commands(options: DemoOptions) -> list[tuple[str, list[str]]]:
    """(name, wattline arguments) of the ingest children, started before the history fill."""
    return [
        ("ocpp", ["ocpp", "--host", "127.0.0.1", "--port", str(options.ocpp_port)]),
        ("mqtt", ["mqtt", "--client-id", "wattline-demo-ingest"]),
    ]


def app_commands(options: DemoOptions) -> list[tuple[str, list[str]]]:
    """The children started once the history is stored: jobs and the dashboard."""
    return [
        ("jobs", ["jobs", "--interval", "15"]),
        (
            "dashboard",
            [
                "dashboard",
                "--port",
                str(options.dashboard_port),
                "--address",
                options.dashboard_address,
            ],
        ),
    ]


def register_devices(dsn: str, options: DemoOptions) -> None:
    """Register the simulated meters, as an operator would (`wattline meter add`): unknown
    devices are refused by default. The chargers are registered by demo_setup."""
    from ingest import meter_admin
    from ingest.mqtt.fleet import PrepayMeter, make_fleet

    for meter in make_fleet(options.meters, 0, DEVICE_PREFIX):
        prepay = isinstance(meter, PrepayMeter)
        dual_rate = prepay and meter.dual_rate
        meter_admin.save_meter(dsn, meter.serial, "prepay" if prepay else "prosumer", dual_rate)


@dataclass(frozen=True)
class Steps:
    """What run() calls around the children; the CLI supplies them (database, broker, ports)."""

    prepare: Callable[[], None]  # migrate and set up, before anything starts
    ingest_ready: Callable[[], bool]  # the ingest children answer /readyz
    devices: Any  # wattline.demo_fill.DemoDevices
    history_stored: Callable[[], None]  # wait for the ingest to store it, refresh rollups
    log: Callable[[str], None]
    progress: Callable[[str, float], None]


class Children:
    """Started child processes, each the leader of its own process group. Their output goes to
    one log file each, so the terminal keeps showing where the dashboard is."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, args: list[str]) -> Path:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        path = self.log_dir / f"{name}.log"
        with path.open("ab") as out:
            proc = subprocess.Popen(
                [*ENTRY, *args], stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.procs.append((name, proc))
        return path

    def exited(self) -> list[tuple[str, int]]:
        return [(n, p.returncode) for n, p in self.procs if p.poll() is not None]

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        # Simulators first (started last), then the dashboard, jobs and the ingest.
        for _, proc in reversed(self.procs):
            _signal_group(proc, signal.SIGINT)
            _wait(proc, timeout_s)
        for _, proc in self.procs:
            if proc.poll() is None:
                _signal_group(proc, signal.SIGKILL)
                proc.wait()


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def _wait(proc: subprocess.Popen, timeout_s: float) -> None:
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        pass


def run(options: DemoOptions, steps: Steps) -> int:
    """Prepare, start the ingest, fill the history through it, start jobs and the dashboard,
    go on live until a signal, then stop it all (devices first)."""
    from wattline.demo_fill import wait_for_history

    log = steps.log
    steps.prepare()
    stopping = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    def going() -> bool:
        return not stopping and not children.exited()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    children = Children(options.log_dir)
    devices = steps.devices
    try:
        for name, args in ingest_commands(options):
            path = children.start(name, args)
            log(f"started {name}: wattline {' '.join(args)}  (log: {path})")
        while going() and not steps.ingest_ready():
            time.sleep(0.5)
        if going():
            log(f"filling {options.history_days} days of history through the ingest ...")
            devices.start_all()
        if going() and wait_for_history(devices, steps.progress, going):
            log("history sent; waiting for the ingest to store it, then refreshing rollups")
            steps.history_stored()
            for name, args in app_commands(options):
                path = children.start(name, args)
                log(f"started {name}: wattline {' '.join(args)}  (log: {path})")
            url = f"http://{options.dashboard_address}:{options.dashboard_port}"
            log(f"\nwattline demo is running. Dashboard: {url}\nPress Ctrl-C to stop.\n")
        while going() and not devices.errors:
            time.sleep(0.5)
        if dead := children.exited():
            log(f"stopping: {', '.join(f'{n} exited ({rc})' for n, rc in dead)}")
        for exc in devices.errors:
            log(f"stopping: the simulated devices failed: {exc!r}")
    finally:
        log("stopping the demo ...")
        devices.stop()
        children.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log("demo stopped")
    return 0 if stopping else 1
