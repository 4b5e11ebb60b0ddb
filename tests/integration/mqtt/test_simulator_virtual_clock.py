"""The meter simulator on a virtual clock (the demo's history fill): readings stamped from a
start in the past, one interval apart, published at once through the real broker."""

import json
import os
import threading
import time
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt

from ingest.mqtt import simulator
from ingest.mqtt.config import MqttConfig


def test_virtual_clock_stamps_past_readings_without_waiting():
    prefix = f"vclock{os.getpid()}"
    config = MqttConfig(topic_prefix=prefix)
    got: list[datetime] = []
    subscribed = threading.Event()
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    sub.on_subscribe = lambda *a: subscribed.set()
    sub.on_message = lambda c, u, m: (
        got.extend(datetime.fromisoformat(r["ts"]) for r in json.loads(m.payload))
        if m.topic.endswith("/reading")
        else None
    )
    sub.connect(config.host, config.port)
    sub.loop_start()
    sub.subscribe(f"{prefix}/#", qos=1)
    assert subscribed.wait(5)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    began = time.monotonic()
    simulator.run(config, 1, 900.0, steps=8, seed=5, start=start)
    elapsed = time.monotonic() - began
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(set(got)) < 8:
        time.sleep(0.05)
    sub.loop_stop()
    sub.disconnect()
    # Eight 15-minute steps are two hours of meter time; the meter stamps with its own clock,
    # which wanders within +-120 s of the virtual one.
    distinct = sorted(set(got))
    assert len(distinct) == 8
    assert abs((distinct[0] - start).total_seconds()) <= 120
    assert abs((distinct[-1] - start).total_seconds() - 7 * 900) <= 120
    assert elapsed < 900  # it did not wait an interval between steps
