"""MQTT ingest settings from environment variables; defaults work with a local Mosquitto."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

from ingest import edge
from ingest.clock import TimeWindow
from ingest.env import flag, positive

DEFAULT_MQTT_URL = "mqtt://127.0.0.1:1883"
TLS_SCHEMES = ("mqtts", "ssl")
SCHEMES = ("mqtt", "tcp", *TLS_SCHEMES)


@dataclass(frozen=True)
class MqttConfig:
    url: str = DEFAULT_MQTT_URL
    client_id: str = "wattline-ingest"
    shared_group: str | None = None
    topic_prefix: str = "meters"
    allow_unknown_meters: bool = True
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
    # Our MQTT 5 Maximum Packet Size: the broker sends nothing larger (it drops it instead), so
    # no single message can make the ingest read and hold more. 5000 records of the fullest
    # reading (README) take 0.8 MB as one JSON list; deploy/mosquitto.conf refuses larger
    # publishes from meters in the first place.
    max_packet_bytes: int = 2 * 1024 * 1024
    # Credentials from WATTLINE_MQTT_USERNAME / _PASSWORD (_FILE); those in the URL otherwise.
    login: str | None = None
    login_password: str | None = field(default=None, repr=False)
    ca_file: str | None = None  # mqtts://: the CA bundle the broker's certificate must chain to
    cert_file: str | None = None  # a client certificate, for brokers that require one
    key_file: str | None = None

    @property
    def tls(self) -> bool:
        return urlparse(self.url).scheme in TLS_SCHEMES

    @property
    def host(self) -> str:
        return urlparse(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        return urlparse(self.url).port or (8883 if self.tls else 1883)

    @property
    def username(self) -> str | None:
        if self.login:
            return self.login
        user = urlparse(self.url).username
        return unquote(user) if user else None

    @property
    def password(self) -> str | None:
        if self.login_password is not None:
            return self.login_password
        password = urlparse(self.url).password
        return unquote(password) if password is not None else None

    @property
    def safe_url(self) -> str:
        """The URL for logs and messages: never the password."""
        return redact(self.url)

    def __repr__(self) -> str:  # dataclass keeps this one: tracebacks show no password
        shown = (f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.repr)
        return f"MqttConfig({', '.join(shown)})".replace(repr(self.url), repr(self.safe_url))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> MqttConfig:
        env = os.environ if env is None else env
        url = env.get("MQTT_URL", DEFAULT_MQTT_URL)
        scheme = urlparse(url).scheme
        if scheme not in SCHEMES:
            raise SystemExit(f"MQTT_URL={redact(url)!r}: expected mqtt:// or mqtts://host:port")
        tls_files = _tls_files(env)
        if any(tls_files) and scheme not in TLS_SCHEMES:
            raise SystemExit(
                f"WATTLINE_MQTT_CA/_CERT/_KEY are set but MQTT_URL={redact(url)!r} is not mqtts://"
            )
        ca_file, cert_file, key_file = tls_files
        window = TimeWindow.from_env(env, "WATTLINE_MQTT_MAX_FUTURE_S")
        return cls(
            url=url,
            client_id=env.get("WATTLINE_MQTT_CLIENT_ID", cls.client_id),
            shared_group=env.get("WATTLINE_MQTT_SHARED_GROUP") or None,
            topic_prefix=env.get("WATTLINE_MQTT_TOPIC_PREFIX", cls.topic_prefix),
            allow_unknown_meters=flag(env, "WATTLINE_ALLOW_UNKNOWN_METERS", True),
            # WATTLINE_MAX_FUTURE_S is shared with the OCPP central system; the MQTT name came
            # first and, being the more specific, wins when both are set.
            max_future_s=window.max_future.total_seconds(),
            min_time=window.min_time,
            spool_path=env.get("WATTLINE_MQTT_SPOOL") or None,
            max_pending=_receive_maximum(env),
            max_packet_bytes=_max_packet_bytes(env),
            login=env.get("WATTLINE_MQTT_USERNAME") or None,
            login_password=_password(env),
            ca_file=ca_file,
            cert_file=cert_file,
            key_file=key_file,
        )


def redact(url: str) -> str:
    parts = urlparse(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{parts.username}:***@{host}").geturl()


def _password(env: Mapping[str, str]) -> str | None:
    if env.get("WATTLINE_MQTT_PASSWORD"):
        return env["WATTLINE_MQTT_PASSWORD"]
    path = env.get("WATTLINE_MQTT_PASSWORD_FILE")
    if not path:
        return None
    try:
        # A secret mounted as a file (Docker, Kubernetes) ends with a newline the password has not.
        return Path(path).read_text().rstrip("\r\n")
    except OSError as exc:
        raise SystemExit(f"WATTLINE_MQTT_PASSWORD_FILE={path!r}: {exc.strerror}") from None


def _tls_files(env: Mapping[str, str]) -> tuple[str | None, str | None, str | None]:
    files = []
    for name in ("WATTLINE_MQTT_CA", "WATTLINE_MQTT_CERT", "WATTLINE_MQTT_KEY"):
        path = env.get(name) or None
        if path and not Path(path).is_file():
            raise SystemExit(f"{name}={path!r}: no such file")
        files.append(path)
    if files[2] and not files[1]:
        raise SystemExit("WATTLINE_MQTT_KEY is set without WATTLINE_MQTT_CERT")
    return files[0], files[1], files[2]


def _max_packet_bytes(env: Mapping[str, str]) -> int:
    name = "WATTLINE_MQTT_MAX_PACKET_BYTES"
    value = positive(env, name, MqttConfig.max_packet_bytes)
    # MQTT's largest packet is 268,435,455 bytes; below a few KB not even one record fits.
    if value != int(value) or not 4096 <= value <= 268_435_455:
        raise SystemExit(f"{name}={env[name]!r}: expected a whole number from 4096 to 268435455")
    return int(value)


def _receive_maximum(env: Mapping[str, str]) -> int:
    name = "WATTLINE_MQTT_MAX_PENDING"
    value = positive(env, name, MqttConfig.max_pending)
    if value != int(value) or value > 65_535:
        raise SystemExit(f"{name}={env[name]!r}: expected a whole number from 1 to 65535")
    return int(value)
