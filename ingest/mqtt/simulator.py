"""Publishes a simulated meter fleet (ingest.mqtt.fleet) to the broker at QoS 1."""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt

from ingest.mqtt import topics
from ingest.mqtt.client import secure
from ingest.mqtt.config import MqttConfig
from ingest.mqtt.fleet import PrepayMeter, make_fleet

log = logging.getLogger(__name__)


WINDOW = 100  # publishes in flight before the oldest is awaited: one at a time is ~5,000/s


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
    history_step_s: float | None = None,
    progress: Callable[[datetime, int], None] | None = None,
) -> int:
    """Publish every ``interval_s`` seconds, ``steps`` times (None: until ``stop`` is set);
    returns the number of messages published. With ``start`` (the demo's history fill) time is
    virtual: step n is stamped ``start + n * interval_s`` and nothing waits, so days of readings
    go through the real broker and ingest in seconds. With ``history_step_s`` as well, virtual
    steps are that long and, once they reach the wall clock, the same meters (same registers
    and balances) carry on live every ``interval_s``. ``progress(now, published)`` is called
    after each step."""
    if start is not None and steps is None and history_step_s is None:
        raise ValueError("a virtual clock (start) needs a number of steps")
    stop = stop or threading.Event()
    fleet = make_fleet(count, seed, serial_prefix)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(WINDOW)
    secure(client, config)
    client.connect(config.host, config.port)
    client.loop_start()
    published = 0
    inflight: deque[mqtt.MQTTMessageInfo] = deque()

    def publish(serial: str, kind: str, payload) -> None:
        nonlocal published
        topic = topics.topic(config.topic_prefix, serial, kind)
        inflight.append(client.publish(topic, json.dumps(payload), qos=1))
        while len(inflight) > WINDOW:
            inflight.popleft().wait_for_publish(10)
        published += 1

    def drain() -> None:
        while inflight:
            inflight.popleft().wait_for_publish(10)

    step_s = history_step_s or interval_s
    virtual = start is not None
    try:
        now = start or datetime.now(UTC)
        for meter in fleet:
            if isinstance(meter, PrepayMeter):
                publish(meter.serial, *meter.tariff_message(now))
        step = 0
        previous: datetime | None = None
        while (steps is None or step < steps) and not stop.is_set():
            if virtual:
                assert start is not None
                now = start + timedelta(seconds=step * step_s)
                virtual = history_step_s is None or now <= datetime.now(UTC)
            if not virtual:
                if previous is not None and previous >= now - timedelta(seconds=interval_s):
                    drain()  # a live step's readings are out before it waits
                    stop.wait(interval_s)
                now = datetime.now(UTC)
            # Energy over the time since the last step: a live step after history is shorter.
            dt_s = step_s if previous is None else (now - previous).total_seconds()
            for meter in fleet:
                for kind, payload in meter.step(now, dt_s):
                    publish(meter.serial, kind, payload)
            previous = now
            step += 1
            if progress is not None:
                progress(now, published)
            log.debug("step %d: %d messages published so far", step, published)
        drain()
    finally:
        client.disconnect()
        client.loop_stop()
    return published
