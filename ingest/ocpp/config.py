"""The central system's settings, from WATTLINE_OCPP_* environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ingest.clock import TimeWindow
from ingest.env import flag, positive


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
        env = os.environ if env is None else env
        cert, key = env.get("WATTLINE_OCPP_TLS_CERT"), env.get("WATTLINE_OCPP_TLS_KEY")
        if bool(cert) != bool(key):
            raise SystemExit("set both WATTLINE_OCPP_TLS_CERT and _TLS_KEY, or neither")
        ca = env.get("WATTLINE_OCPP_TLS_CA")
        if ca and not cert:
            raise SystemExit("WATTLINE_OCPP_TLS_CA needs WATTLINE_OCPP_TLS_CERT and _TLS_KEY")

        def number(suffix: str, default: float) -> float:
            return positive(env, f"WATTLINE_OCPP_{suffix}", default)

        return cls(
            host=env.get("WATTLINE_OCPP_HOST", cls.host),
            port=int(number("PORT", cls.port)),
            allow_unknown_chargers=flag(env, "WATTLINE_ALLOW_UNKNOWN_CHARGERS", False),
            tls_cert=Path(cert) if cert else None,
            tls_key=Path(key) if key else None,
            tls_ca=Path(ca) if ca else None,
            trust_proxy_tls=flag(env, "WATTLINE_OCPP_TRUST_PROXY_TLS", False),
            max_connections=int(number("MAX_CONNECTIONS", cls.max_connections)),
            max_frame_bytes=int(number("MAX_FRAME_BYTES", cls.max_frame_bytes)),
            ping_interval_s=number("PING_INTERVAL", cls.ping_interval_s),
            ping_timeout_s=number("PING_TIMEOUT", cls.ping_timeout_s),
            close_timeout_s=number("CLOSE_TIMEOUT", cls.close_timeout_s),
            command_timeout_s=number("COMMAND_TIMEOUT", cls.command_timeout_s),
            command_expiry_s=number("COMMAND_EXPIRY", cls.command_expiry_s),
            spool_path=Path(env.get("WATTLINE_OCPP_SPOOL", str(cls.spool_path))),
            time_window=TimeWindow.from_env(env),
        )
