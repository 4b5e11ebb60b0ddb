"""The central system's settings, built from the one settings object (wattline.settings)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from ingest.clock import TimeWindow
from wattline.settings import Settings


@dataclass(frozen=True)
class OcppConfig:
    host: str = "0.0.0.0"
    port: int = 9000
    # Refused unknown charge points get HTTP 404 at the handshake.
    allow_unknown_chargers: bool = False
    tls_cert: Path | None = None  # both set: wss:// (security profiles 2 and 3)
    tls_key: Path | None = None
    tls_ca: Path | None = None  # CA bundle for client certificates (security profile 3)
    # A TLS-terminating proxy in front: plain connections count as TLS for profile 2.
    trust_proxy_tls: bool = False
    max_connections: int = 10_000  # beyond: HTTP 503 at the handshake
    # Threads that check passwords, and only that: half the cores (argon2 holds no GIL, so two
    # threads on two cores would leave the event loop none while a fleet reconnects).
    auth_workers: int = max(1, min(4, (os.cpu_count() or 2) // 2))
    auth_cache_s: float = 600.0  # a good password is not hashed again for this long
    # Failed handshakes per remote address and per identity: a burst, then so many a minute.
    failures_burst: int = 10
    failures_per_minute: float = 10.0
    max_frame_bytes: int = 65_536
    ping_interval_s: float = 20.0
    ping_timeout_s: float = 20.0
    close_timeout_s: float = 10.0  # how long a dead peer may hold on to its connection
    command_timeout_s: float = 30.0
    # A command still requested after this long, for a charge point silent as long, fails
    # (twice the heartbeat interval BootNotification gives: a connected one is never that quiet).
    command_expiry_s: float = 600.0
    command_sweep_interval_s: float = 30.0
    spool_path: Path = Path("spool/ocpp.jsonl")
    retry_interval_s: float = 2.0
    # Charger times outside it are not stored as such (meterValue.timestamp: the sampled values
    # go to ingest_rejects; other messages take the server's receive time).
    time_window: TimeWindow = TimeWindow()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OcppConfig:
        return cls.from_settings(Settings.from_env(env))

    @classmethod
    def from_settings(cls, s: Settings) -> OcppConfig:
        return cls(
            host=s.ocpp_host,
            port=s.ocpp_port,
            allow_unknown_chargers=s.allow_unknown_chargers,
            tls_cert=s.ocpp_tls_cert,
            tls_key=s.ocpp_tls_key,
            tls_ca=s.ocpp_tls_ca,
            trust_proxy_tls=s.ocpp_trust_proxy_tls,
            max_connections=s.ocpp_max_connections,
            max_frame_bytes=s.ocpp_max_frame_bytes,
            ping_interval_s=s.ocpp_ping_interval_s,
            ping_timeout_s=s.ocpp_ping_timeout_s,
            close_timeout_s=s.ocpp_close_timeout_s,
            command_timeout_s=s.ocpp_command_timeout_s,
            command_expiry_s=s.ocpp_command_expiry_s,
            spool_path=s.ocpp_spool,
            time_window=TimeWindow(timedelta(seconds=s.max_future_s), s.min_time),
        )
