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
    allow_unknown_chargers: bool = True
    tls_cert: Path | None = None  # both set: wss:// (security profile 2)
    tls_key: Path | None = None
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

        def number(suffix: str, default: float) -> float:
            return positive(env, f"WATTLINE_OCPP_{suffix}", default)

        return cls(
            host=env.get("WATTLINE_OCPP_HOST", cls.host),
            port=int(number("PORT", cls.port)),
            allow_unknown_chargers=flag(env, "WATTLINE_ALLOW_UNKNOWN_CHARGERS", True),
            tls_cert=Path(cert) if cert else None,
            tls_key=Path(key) if key else None,
            max_frame_bytes=int(number("MAX_FRAME_BYTES", cls.max_frame_bytes)),
            ping_interval_s=number("PING_INTERVAL", cls.ping_interval_s),
            ping_timeout_s=number("PING_TIMEOUT", cls.ping_timeout_s),
            close_timeout_s=number("CLOSE_TIMEOUT", cls.close_timeout_s),
            command_timeout_s=number("COMMAND_TIMEOUT", cls.command_timeout_s),
            command_expiry_s=number("COMMAND_EXPIRY", cls.command_expiry_s),
            spool_path=Path(env.get("WATTLINE_OCPP_SPOOL", str(cls.spool_path))),
            time_window=TimeWindow.from_env(env),
        )
