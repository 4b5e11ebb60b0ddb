"""`wattline` processes as operators run them, watched through their /healthz, /readyz and
/metrics (wattline/observe): started with an environment of their own, asked over real HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

WATTLINE = [sys.executable, "-m", "wattline.cli"]
START_S = 30


class Observed:
    def __init__(
        self, kind: str, env: dict[str, str], port: int, log: Path, args: tuple = ()
    ) -> None:
        self.kind, self.port, self.log = kind, port, log
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("WATTLINE_", "MQTT_"))}
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [*WATTLINE, kind, *args], env={**clean, **env}, stdout=out, stderr=out
            )

    def wait_started(self, log_line: str | None = None) -> Observed:
        """Until /healthz answers (and ``log_line`` is in the log, if given)."""
        deadline = time.monotonic() + START_S
        while self.get("/healthz")[0] is None or (log_line and log_line not in self.log_text()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"wattline {self.kind} did not start:\n{self.log_text()}")
            time.sleep(0.05)
        return self

    def get(self, path: str) -> tuple[int | None, str]:
        return get(self.port, path)

    def check(self, path: str) -> tuple[int | None, dict | str]:
        return check(self.port, path)

    def metrics(self) -> dict[tuple[str, tuple], float]:
        """Every sample as {(name, ((label, value), ...)): value}."""
        status, body = self.get("/metrics")
        assert status == 200, body
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body)
            for s in family.samples
        }

    def sample(self, name: str, **labels: str) -> float | None:
        return self.metrics().get((name, tuple(sorted(labels.items()))))

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            said = self.log_text()
            raise AssertionError(f"wattline {self.kind} ignored SIGTERM:\n{said}") from None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def get(port: int, path: str) -> tuple[int | None, str]:
    """Status and body; (None, why) when nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError as exc:
        return None, str(exc)


def check(port: int, path: str) -> tuple[int | None, dict | str]:
    """/healthz or /readyz: the status and the JSON body."""
    status, body = get(port, path)
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body


def until(condition, what: str, timeout: float = 20.0):
    """Poll ``condition`` until it returns something truthy; fail saying ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s (last: {value!r})")
        time.sleep(0.05)
