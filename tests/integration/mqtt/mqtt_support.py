"""Helpers for the MQTT ingest tests: run the ingest in-process, publish, poll."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import paho.mqtt.client as mqtt

from ingest.mqtt.config import MqttConfig
from ingest.mqtt.subscriber import Subscriber


@asynccontextmanager
async def running(config: MqttConfig, db_url: str) -> AsyncIterator[Subscriber]:
    """The ingest, in-process, subscribed before the block starts; stopped after it."""
    subscriber = Subscriber(config, db_url)
    stop = asyncio.Event()
    task = asyncio.create_task(subscriber.run(stop))
    try:
        await asyncio.wait_for(subscriber.ready.wait(), 10)
        yield subscriber
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)


class Publisher:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.connect("127.0.0.1", 1883)
        self.client.loop_start()

    def send(self, serial: str, kind: str, payload: Any) -> None:
        """Publish at QoS 1 and wait for the broker's acknowledgement. Bytes go as they are;
        anything else as JSON."""
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        info = self.client.publish(f"{self.prefix}/{serial}/{kind}", data, qos=1)
        info.wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


async def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll until ``check()`` returns something truthy; fail with its last value."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last: {value!r})")
        await asyncio.sleep(0.05)
