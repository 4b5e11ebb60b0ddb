"""A real `wattline ocpp` process and a charger talking raw OCPP 1.6-J frames to it, for the tests
that check what a deployment sees (its settings from .env, its log lines)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import websockets

ROOT = Path(__file__).parents[2]
sys.path.insert(0, str(ROOT))  # bench/ is not an installed package
from bench.ocpp_load import free_port  # noqa: E402

NOW = "2026-12-04T10:00:00Z"


def wattline(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "wattline.cli", *args], env=env, cwd=cwd, capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without the app's variables (conftest removed them), plus
    ``extra``."""
    env = {k: v for k, v in os.environ.items() if k != "WATTLINE_ENV_FILE"}
    return env | extra


@contextmanager
def ocpp_process(env: dict[str, str], cwd: Path) -> Iterator[tuple[subprocess.Popen, int]]:
    """`wattline ocpp` on a free port, stopped (SIGTERM) on the way out; stderr is its log."""
    port = free_port()
    log = open(cwd / "ocpp.log", "w+")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [sys.executable, "-m", "wattline.cli", "ocpp", "--host", "127.0.0.1", "--port", str(port)],
        env=env | {"WATTLINE_OCPP_SPOOL": str(cwd / "spool.jsonl")},
        cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        yield process, port
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


async def connect(port: int, identity: str, process: subprocess.Popen):
    """The charger's WebSocket, once the central system listens (it may still be starting)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return await websockets.connect(
                f"ws://127.0.0.1:{port}/ocpp/{identity}", subprotocols=["ocpp1.6"]
            )
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def call(ws, message_id: str, action: str, payload: dict) -> dict:
    await ws.send(json.dumps([2, message_id, action, payload]))
    reply = json.loads(await asyncio.wait_for(ws.recv(), 30))
    assert reply[:2] == [3, message_id], reply
    return reply[2]


async def boot_and_meter(port: int, identity: str, process: subprocess.Popen, wh: int) -> None:
    """Boot, connector 1 Charging, one energy register reading of ``wh``."""
    ws = await connect(port, identity, process)
    try:
        boot = await call(
            ws, "1", "BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "X1"}
        )
        assert boot["status"] == "Accepted"
        status = {"connectorId": 1, "errorCode": "NoError", "status": "Charging", "timestamp": NOW}
        await call(ws, "2", "StatusNotification", status)
        sample = {"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"}
        meter = {"connectorId": 1, "meterValue": [{"timestamp": NOW, "sampledValue": [sample]}]}
        await call(ws, "3", "MeterValues", meter)
    finally:
        await ws.close()
