"""`wattline demo`: every part of wattline as child processes on the local database and broker,
with simulated chargers and meters, stopped together on Ctrl-C or SIGTERM.

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

STOP_TIMEOUT_S = 10.0
DEVICE_PREFIX = "DEMO"  # simulated charge points DEMO-0001, ...; meters DEMO000000, ...
# How a child runs `wattline ARGS` (the same interpreter, so the same environment).
ENTRY = [sys.executable, "-m", "wattline.cli"]


@dataclass(frozen=True)
class DemoOptions:
    chargers: int = 4
    meters: int = 8
    ocpp_port: int = 9000
    dashboard_port: int = 8501
    dashboard_address: str = "127.0.0.1"
    interval_s: float = 10.0
    speed: float = 30.0
    log_dir: Path = Path("var/demo")


def commands(options: DemoOptions) -> list[tuple[str, list[str]]]:
    """(name, wattline arguments) of each child, in start order."""
    interval = str(options.interval_s)
    return [
        ("ocpp", ["ocpp", "--host", "127.0.0.1", "--port", str(options.ocpp_port)]),
        ("mqtt", ["mqtt", "--client-id", "wattline-demo-ingest"]),
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
        (
            "chargers",
            [
                "simulate",
                "chargers",
                "--count",
                str(options.chargers),
                "--url",
                f"ws://127.0.0.1:{options.ocpp_port}/ocpp",
                "--interval",
                interval,
                "--speed",
                str(options.speed),
                "--kwh-min",
                "5",
                "--kwh-max",
                "30",
                "--prefix",
                DEVICE_PREFIX,
                "--ocpp",
                "mix",  # every fourth charger speaks OCPP 2.0.1, the rest 1.6
            ],
        ),  # fmt: skip
        (
            "meters",
            [
                "simulate",
                "meters",
                "--count",
                str(options.meters),
                "--interval",
                interval,
                "--serial-prefix",
                DEVICE_PREFIX,
            ],
        ),  # fmt: skip
    ]


def register_devices(dsn: str, options: DemoOptions) -> None:
    """Register the simulated chargers and meters, as an operator would (`wattline charger add`,
    `wattline meter add`): unknown devices are refused by default."""
    from ingest import meter_admin
    from ingest.mqtt.fleet import PrepayMeter, make_fleet
    from ingest.ocpp import admin

    for n in range(1, options.chargers + 1):
        admin.save_charge_point(dsn, f"{DEVICE_PREFIX}-{n:04d}", None)
    for meter in make_fleet(options.meters, 0, DEVICE_PREFIX):
        prepay = isinstance(meter, PrepayMeter)
        dual_rate = prepay and meter.dual_rate
        meter_admin.save_meter(dsn, meter.serial, "prepay" if prepay else "prosumer", dual_rate)


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


def run(options: DemoOptions, prepare: Callable[[], None], log: Callable[[str], None]) -> int:
    """Prepare (migrate, register id tags), start everything, wait for a signal, stop it all."""
    prepare()
    stopping = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    children = Children(options.log_dir)
    try:
        for name, args in commands(options):
            path = children.start(name, args)
            log(f"started {name}: wattline {' '.join(args)}  (log: {path})")
        url = f"http://{options.dashboard_address}:{options.dashboard_port}"
        log(f"\nwattline demo is running. Dashboard: {url}\nPress Ctrl-C to stop.\n")
        while not stopping:
            if dead := children.exited():
                log(f"stopping: {', '.join(f'{n} exited ({rc})' for n, rc in dead)}")
                break
            time.sleep(0.5)
    finally:
        log("stopping the demo ...")
        children.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log("demo stopped")
    return 0 if stopping else 1
