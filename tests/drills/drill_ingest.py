"""The ingest as operators run it: `wattline ocpp` and `wattline mqtt` in processes of their own,
configured by environment variables, stopped with SIGTERM or killed with SIGKILL.

Each process appends to one log file across restarts, so a drill can say what the service
printed while the fault lasted."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

WATTLINE = str(Path(sys.executable).with_name("wattline"))
READY_S = 30


class Ingest:
    def __init__(self, kind: str, env: dict[str, str], workdir: Path) -> None:
        self.kind = kind  # "ocpp" or "mqtt"
        self.env = env
        self.workdir = workdir
        self.log = workdir / f"{kind}.log"
        self.proc: subprocess.Popen | None = None
        self.exit_codes: list[int] = []

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WATTLINE_", "MQTT_"))}
        env.update(self.env)
        start_at = self.log.stat().st_size if self.log.exists() else 0
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [WATTLINE, self.kind], env=env, stdout=log, stderr=log, cwd=self.workdir
            )
        deadline = time.monotonic() + READY_S
        while not self._ready(start_at):
            if self.proc.poll() is not None:
                raise RuntimeError(f"wattline {self.kind} exited:\n{self.log_text()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"wattline {self.kind} not ready:\n{self.log_text()}")
            time.sleep(0.05)

    def _ready(self, start_at: int) -> bool:
        if self.kind == "ocpp":
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return True
            except OSError:
                return False
        with open(self.log, "rb") as log:
            log.seek(start_at)
            return b"subscribed to" in log.read()

    @property
    def port(self) -> int:
        return int(self.env["WATTLINE_OCPP_PORT"])

    @property
    def spool(self) -> Path:
        return Path(self.env[f"WATTLINE_{self.kind.upper()}_SPOOL"])

    def spool_bytes(self) -> int:
        return self.spool.stat().st_size if self.spool.exists() else 0

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no flush, no goodbye, as the kernel's OOM killer or a power cut."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.exit_codes.append(self.proc.wait(10))

    def stop(self) -> None:
        """SIGTERM, as a service manager stops it: connections close, the writer flushes."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.exit_codes.append(self.proc.wait(30))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.exit_codes.append(self.proc.wait(10))
            raise RuntimeError(
                f"wattline {self.kind} ignored SIGTERM:\n{self.log_text()}"
            ) from None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def log_lines(self, needle: str) -> list[str]:
        return [line for line in self.log_text().splitlines() if needle in line]
