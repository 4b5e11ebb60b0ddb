"""MQTT ingest settings, built from the one settings object (wattline.settings); defaults work
with a local Mosquitto."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

from ingest import edge
from wattline.settings import DEFAULT_MQTT_URL, Settings

TLS_NAMES = ("WATTLINE_MQTT_CA", "WATTLINE_MQTT_CERT", "WATTLINE_MQTT_KEY")
TLS_SCHEMES = ("mqtts", "ssl")
SCHEMES = ("mqtt", "tcp", *TLS_SCHEMES)


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
        return cls.from_settings(Settings.from_env(env))

    @classmethod
    def from_settings(cls, s: Settings) -> MqttConfig:
        url = s.mqtt_url
        ca_file, cert_file, key_file = s.mqtt_ca, s.mqtt_cert, s.mqtt_key
        for name, path in zip(TLS_NAMES, (ca_file, cert_file, key_file), strict=True):
            if path and not Path(path).is_file():
                raise SystemExit(f"{name}={path!r}: no such file")
        if key_file and not cert_file:
            raise SystemExit("WATTLINE_MQTT_KEY is set without WATTLINE_MQTT_CERT")
        if (ca_file or cert_file) and urlparse(url).scheme not in TLS_SCHEMES:
            raise SystemExit(
                f"WATTLINE_MQTT_CA/_CERT/_KEY are set but MQTT_URL={redact(url)!r} is not mqtts://"
            )
        password = s.mqtt_password.get_secret_value() if s.mqtt_password else None
        return cls(
            url=url,
            client_id=s.mqtt_client_id,
            shared_group=s.mqtt_shared_group,
            topic_prefix=s.mqtt_topic_prefix,
            allow_unknown_meters=s.allow_unknown_meters,
            # WATTLINE_MAX_FUTURE_S is shared with the OCPP central system; the MQTT name came
            # first and, being the more specific, wins when both are set.
            max_future_s=s.mqtt_max_future_s or s.max_future_s,
            min_time=s.min_time,
            spool_path=s.mqtt_spool,
            max_pending=s.mqtt_max_pending,
            max_packet_bytes=s.mqtt_max_packet_bytes,
            login=s.mqtt_username,
            login_password=password,
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
