"""A real Mosquitto (127.0.0.1:1883) and a fresh database per test. Each test gets its own topic
prefix and client ids, so retained or queued messages of other tests never reach it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import psycopg
import pytest
from mqtt_support import Publisher, running

from ingest.mqtt.config import MqttConfig
from ingest.mqtt.subscriber import Subscriber
from sql import db


@pytest.fixture
def mqtt_config() -> MqttConfig:
    tag = uuid.uuid4().hex[:10]
    return MqttConfig(
        client_id=f"wattline-test-{tag}",
        topic_prefix=f"test-{tag}/meters",
        session_expiry_s=120,  # the broker forgets test sessions soon after the run
        registry_ttl_s=0.0,
        allow_unknown_meters=True,  # test meters are not registered (test_mqtt_registry: off)
    )


@pytest.fixture
async def ingest(mqtt_config: MqttConfig, db_url: str) -> AsyncIterator[Subscriber]:
    async with running(mqtt_config, db_url) as subscriber:
        yield subscriber


@pytest.fixture
def publisher(mqtt_config: MqttConfig) -> Iterator[Publisher]:
    p = Publisher(mqtt_config.topic_prefix)
    yield p
    p.close()


@pytest.fixture
def serial() -> str:
    return f"EML{uuid.uuid4().int % 10**10:010d}"


@pytest.fixture
def query(db_url: str) -> Callable[..., list[tuple]]:
    def run(sql: str, params: Any = None) -> list[tuple]:
        with psycopg.connect(db.with_session_options(db_url), autocommit=True) as conn:
            cur = conn.execute(sql, params)
            return cur.fetchall() if cur.description else []

    return run
