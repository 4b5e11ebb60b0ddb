"""The broker configuration we ship (deploy/mosquitto.conf) on the real Mosquitto: readings the
broker acknowledged while the ingest was stopped survive a broker restart, beyond Mosquitto's
default queue of 1000 messages, and are all stored once the ingest is back."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import pytest
from mosquitto_broker import INGEST_USER, Broker, have_mosquitto
from mqtt_support import eventually, running

READINGS = 1500  # more than Mosquitto's default max_queued_messages (1000)
T0 = datetime(2024, 1, 27, 0, 0, tzinfo=UTC)

pytestmark = pytest.mark.skipif(not have_mosquitto(), reason="needs mosquitto")


@pytest.fixture
def broker(serial: str) -> Iterator[Broker]:
    b = Broker({INGEST_USER: "ingest-secret", serial: "meter-secret"})
    b.start()
    yield b
    b.remove()


def _publish_readings(port: int, serial: str) -> None:
    topic = f"meters/{serial}/reading"
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.username_pw_set(serial, "meter-secret")
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
    url = f"mqtt://{INGEST_USER}:ingest-secret@127.0.0.1:{broker.port}"
    config = dataclasses.replace(
        mqtt_config, url=url, topic_prefix="meters", allow_unknown_meters=True
    )
    async with running(config, db_url):
        pass  # the ingest's persistent session and subscriptions now exist at the broker
    _publish_readings(broker.port, serial)
    broker.stop()
    broker.start()
    async with running(config, db_url):
        count = "SELECT count(*), sum(delta_import_wh) FROM register_readings"
        # 1500 readings 10 Wh apart: 1499 deltas of 10 Wh after the first.
        await eventually(lambda: query(count) == [(READINGS, 10 * (READINGS - 1))], timeout=30)
    assert not broker.dropped()
