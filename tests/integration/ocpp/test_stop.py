"""`wattline ocpp` as a process: SIGINT (Ctrl-C) and SIGTERM (docker stop) both stop it cleanly,
exit status 0, with what it confirmed written."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import websockets
from ocpp.v16 import ChargePoint, call
from ocpp_support import query

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(server: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        assert server.poll() is None, server.communicate()[0]
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, "the server did not start listening"
            time.sleep(0.1)


async def _heartbeat(port: int) -> None:
    url = f"ws://127.0.0.1:{port}/ocpp/CP-STOP"
    async with websockets.connect(url, subprotocols=["ocpp1.6"]) as ws:
        client = ChargePoint("CP-STOP", ws)
        task = asyncio.create_task(client.start())
        try:
            await client.call(call.Heartbeat())
        finally:
            task.cancel()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_the_server_cleanly(db_url, tmp_path, signum):
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "WATTLINE_OCPP_SPOOL": str(tmp_path / "spool.jsonl"),
        "WATTLINE_ALLOW_UNKNOWN_CHARGERS": "true",  # CP-STOP is not registered
        "PYTHONPATH": str(ROOT),
    }
    cmd = [sys.executable, "-m", "wattline.cli", "ocpp", "--host", "127.0.0.1"]
    server = subprocess.Popen(
        [*cmd, "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_listening(server, port)
        asyncio.run(_heartbeat(port))
        server.send_signal(signum)
        output, _ = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    assert server.returncode == 0, output
    assert "stopping: writer flushed" in output
    rows = query(
        db_url,
        "SELECT direction, message_type FROM wattline.ocpp_messages"
        " WHERE charge_point_id = 'CP-STOP' ORDER BY direction",
    )
    assert [(r["direction"], r["message_type"]) for r in rows] == [("in", 2), ("out", 3)]
