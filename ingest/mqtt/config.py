"""MQTT ingest settings from environment variables; defaults work with a local Mosquitto."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlparse

from ingest import edge
from ingest.clock import TimeWindow
from ingest.env import flag, positive

DEFAULT_MQTT_URL = "mqtt://127.0.0.1:1883"


@dataclass(frozen=True)
class MqttConfig:
    url: str = DEFAULT_MQTT_URL
    client_id: str = "wattline-ingest"
    shared_group: str | None = None
    topic_prefix: str = "meters"
    allow_unknown_meters: bool = False
    max_future_s: float = 600.0  # clocks drift; further ahead than this is a broken clock
    min_time: datetime = edge.DEFAULT_MIN_TIME  # earlier: a clock never set (1970)
    session_expiry_s: int = 7 * 24 * 3600  # the broker keeps our queue this long while we're away
    registry_ttl_s: float = 60.0  # how soon a register replaced in the database is picked up
    # Messages received and not yet acknowledged (also our MQTT 5 Receive Maximum; 65,535 is
    # the protocol's limit). The broker drops messages for a subscriber that is more than this
    # plus its own queue limit (Mosquitto: max_queued_messages, 1000 by default) behind, so
    # this is how long a pause in the database the ingest rides out without the broker's help:
    # at 10,000 messages/s a window of 10,000 lost messages after a 1.1 s pause (seen in
    # bench.mqtt_load); the full window covers 6.5 s. Messages wait unparsed, a few hundred
    # bytes each, and only a group at a time is parsed.
    max_pending: int = 65_535
    # The same window in payload bytes: one message may be a meter's backlog of 5000 readings,
    # and memory must stay bounded whatever the messages hold. Parsed, a payload takes several
    # times its size.
    max_pending_bytes: int = 8 * 1024 * 1024
    spool_path: str | None = None  # where batches wait, fsynced, while the database is away

    @property
    def host(self) -> str:
        return urlparse(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        return urlparse(self.url).port or 1883

    @property
    def username(self) -> str | None:
        return urlparse(self.url).username

    @property
    def password(self) -> str | None:
        return urlparse(self.url).password

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> MqttConfig:
        env = os.environ if env is None else env
        url = env.get("MQTT_URL", DEFAULT_MQTT_URL)
        if urlparse(url).scheme not in ("mqtt", "tcp"):
            raise SystemExit(f"MQTT_URL={url!r}: expected mqtt://host:port")
        window = TimeWindow.from_env(env, "WATTLINE_MQTT_MAX_FUTURE_S")
        return cls(
            url=url,
            client_id=env.get("WATTLINE_MQTT_CLIENT_ID", cls.client_id),
            shared_group=env.get("WATTLINE_MQTT_SHARED_GROUP") or None,
            topic_prefix=env.get("WATTLINE_MQTT_TOPIC_PREFIX", cls.topic_prefix),
            allow_unknown_meters=flag(env, "WATTLINE_ALLOW_UNKNOWN_METERS", False),
            # WATTLINE_MAX_FUTURE_S is shared with the OCPP central system; the MQTT name came
            # first and, being the more specific, wins when both are set.
            max_future_s=window.max_future.total_seconds(),
            min_time=window.min_time,
            spool_path=env.get("WATTLINE_MQTT_SPOOL") or None,
            max_pending=_receive_maximum(env),
        )


def _receive_maximum(env: Mapping[str, str]) -> int:
    name = "WATTLINE_MQTT_MAX_PENDING"
    value = positive(env, name, MqttConfig.max_pending)
    if value != int(value) or value > 65_535:
        raise SystemExit(f"{name}={env[name]!r}: expected a whole number from 1 to 65535")
    return int(value)
