"""A Mosquitto of a test's own, run with the configuration we ship (deploy/mosquitto.conf:
persistence, a deep queue) on a free port and a data directory of its own, so the test can stop
and restart it without touching the shared broker at 1883."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

CONFIG = Path(__file__).parents[1] / "deploy" / "mosquitto.conf"


class Broker:
    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        # Started as root, Mosquitto saves as its own user, which cannot enter pytest's
        # private tmp_path: a data directory it can reach.
        self.root = Path(tempfile.mkdtemp(prefix="wattline-mosquitto-"))
        self.root.chmod(0o777)
        lines = []
        for line in CONFIG.read_text().splitlines():
            if line.startswith("listener "):
                line = f"listener {self.port} 127.0.0.1"
            elif line.startswith("persistence_location "):
                line = f"persistence_location {self.root}/"
            lines.append(line)
        self.config = self.root / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")
        self.log = self.root / "mosquitto.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                ["mosquitto", "-c", str(self.config)], stdout=log, stderr=log
            )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(
                        f"mosquitto did not start:\n{self.log.read_text()}"
                    ) from None
                time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM, as a service manager's restart does: Mosquitto saves its state and exits."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(15)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def dropped(self) -> bool:
        """Whether Mosquitto logged dropping messages (its queue limit)."""
        return "dropped" in self.log.read_text().lower() if self.log.exists() else False


def have_mosquitto() -> bool:
    return shutil.which("mosquitto") is not None
