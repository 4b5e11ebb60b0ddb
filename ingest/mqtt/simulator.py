"""Publishes a simulated meter fleet (ingest.mqtt.fleet) to the broker at QoS 1."""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt

from ingest.mqtt import topics
from ingest.mqtt.client import secure
from ingest.mqtt.config import MqttConfig
from ingest.mqtt.fleet import PrepayMeter, make_fleet

log = logging.getLogger(__name__)


def run(
    config: MqttConfig,
    count: int,
    interval_s: float,
    *,
    steps: int | None = None,
    seed: int = 0,
    serial_prefix: str = "SIM",
    stop: threading.Event | None = None,
    start: datetime | None = None,
) -> int:
    """Publish every ``interval_s`` seconds, ``steps`` times (None: until ``stop`` is set);
    returns the number of messages published. With ``start`` (the demo's history fill) time is
    virtual: step n is stamped ``start + n * interval_s`` and nothing waits, so days of readings
    go through the real broker and ingest in seconds."""
    if start is not None and steps is None:
        raise ValueError("a virtual clock (start) needs a number of steps")
    stop = stop or threading.Event()
    fleet = make_fleet(count, seed, serial_prefix)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    secure(client, config)
    client.connect(config.host, config.port)
    client.loop_start()
    published = 0

    def publish(serial: str, kind: str, payload) -> None:
        nonlocal published
        topic = topics.topic(config.topic_prefix, serial, kind)
        client.publish(topic, json.dumps(payload), qos=1).wait_for_publish(10)
        published += 1

    try:
        now = start or datetime.now(UTC)
        for meter in fleet:
            if isinstance(meter, PrepayMeter):
                publish(meter.serial, *meter.tariff_message(now))
        step = 0
        while (steps is None or step < steps) and not stop.is_set():
            if start is not None:
                now = start + timedelta(seconds=step * interval_s)
            else:
                if step:
                    stop.wait(interval_s)
                now = datetime.now(UTC)
            for meter in fleet:
                for kind, payload in meter.step(now, interval_s):
                    publish(meter.serial, kind, payload)
            step += 1
            log.info("step %d: %d messages published so far", step, published)
    finally:
        client.disconnect()
        client.loop_stop()
    return published
