"""The broker configuration we ship (deploy/mosquitto.conf) on the real Mosquitto: readings the
broker acknowledged while the ingest was stopped survive a broker restart, beyond Mosquitto's
default queue of 1000 messages, and are all stored once the ingest is back."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from mqtt_support import eventually, running

CONFIG = Path(__file__).parents[3] / "deploy" / "mosquitto.conf"
READINGS = 1500  # more than Mosquitto's default max_queued_messages (1000)
T0 = datetime(2024, 1, 27, 0, 0, tzinfo=UTC)

pytestmark = pytest.mark.skipif(not shutil.which("mosquitto"), reason="needs mosquitto")


class Broker:
    """Mosquitto with our config, on a port and data directory of the test's own."""

    def __init__(self, tmp: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        # Started as root, Mosquitto saves as its own user, which cannot enter pytest's
        # private tmp_path: the data directory is one it can reach.
        data = self.data = Path(tempfile.mkdtemp(prefix="wattline-mosquitto-"))
        os.chmod(data, 0o777)
        lines = []
        for line in CONFIG.read_text().splitlines():
            if line.startswith("listener "):
                line = f"listener {self.port} 127.0.0.1"
            elif line.startswith("persistence_location "):
                line = f"persistence_location {data}/"
            lines.append(line)
        self.config = tmp / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")
        self.log = tmp / "mosquitto.log"
        self.proc: subprocess.Popen | None = None

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
        """SIGTERM, as `docker compose restart` does: Mosquitto saves its state and exits."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    b = Broker(tmp_path)
    b.start()
    yield b
    b.stop()
    shutil.rmtree(b.data, ignore_errors=True)


def _publish_readings(port: int, topic: str) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        payloads = (
            json.dumps({"ts": (T0 + timedelta(minutes=i)).isoformat(), "import_wh": 1000 + 10 * i})
            for i in range(READINGS)
        )
        infos = [client.publish(topic, payload, qos=1) for payload in payloads]
        for info in infos:
            info.wait_for_publish(10)  # the broker acknowledged it: it must not be lost
            assert info.is_published()
    finally:
        client.disconnect()
        client.loop_stop()


async def test_readings_queued_for_a_stopped_ingest_survive_a_broker_restart(
    broker, mqtt_config, db_url, query, serial
):
    config = dataclasses.replace(mqtt_config, url=f"mqtt://127.0.0.1:{broker.port}")
    async with running(config, db_url):
        pass  # the ingest's persistent session and subscriptions now exist at the broker
    _publish_readings(broker.port, f"{config.topic_prefix}/{serial}/reading")
    broker.stop()
    broker.start()
    async with running(config, db_url):
        count = "SELECT count(*), sum(delta_import_wh) FROM register_readings"
        # 1500 readings 10 Wh apart: 1499 deltas of 10 Wh after the first.
        await eventually(lambda: query(count) == [(READINGS, 10 * (READINGS - 1))], timeout=30)
    assert "dropped" not in broker.log.read_text().lower()
