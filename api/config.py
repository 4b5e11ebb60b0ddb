"""API settings from the environment, read the way the other processes read theirs (issue 15
moves them all to wattline/settings.py)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from analytics.settlement import SettlementConfig
from wattline.settings import DEFAULT_DATABASE_URL, Settings

MIN_SECRET_BYTES = 32  # HS256 keys shorter than the hash are guessable (RFC 7518 3.2)
DEFAULT_AUDIENCE = "wattline"
DEFAULT_ISSUER = "wattline"


def secret_from(env: Mapping[str, str]) -> str | None:
    """WATTLINE_API_SECRET, or the contents of the file WATTLINE_API_SECRET_FILE names (a
    container secret); a trailing newline of the file is not part of it."""
    path = env.get("WATTLINE_API_SECRET_FILE")
    if path:
        try:
            with open(path, encoding="utf-8") as f:
                secret = f.read().rstrip("\r\n")
        except OSError as exc:
            raise SystemExit(f"WATTLINE_API_SECRET_FILE={path!r}: {exc.strerror}") from None
    else:
        secret = env.get("WATTLINE_API_SECRET") or None
    if secret is not None and len(secret.encode()) < MIN_SECRET_BYTES:
        raise SystemExit(f"WATTLINE_API_SECRET must be at least {MIN_SECRET_BYTES} bytes long")
    return secret


@dataclass(frozen=True)
class ApiConfig:
    database_url: str = DEFAULT_DATABASE_URL
    secret: str | None = None  # HS256 tokens (wattline token issue)
    jwks_url: str | None = None  # RS256/ES256 tokens of an identity provider
    audience: str = DEFAULT_AUDIENCE
    issuer: str = DEFAULT_ISSUER
    host: str = "0.0.0.0"
    port: int = 8080
    settlement: SettlementConfig = SettlementConfig(5, Decimal("1"))
    pool_size: int = 8  # connections per worker process
    workers: int = 1

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ApiConfig:
        env = os.environ if env is None else env
        app = Settings.from_env(dict(env))
        config = cls(
            database_url=app.database_url,
            secret=secret_from(env),
            jwks_url=env.get("WATTLINE_API_JWKS_URL") or None,
            audience=env.get("WATTLINE_API_AUDIENCE") or DEFAULT_AUDIENCE,
            issuer=env.get("WATTLINE_API_ISSUER") or DEFAULT_ISSUER,
            host=env.get("WATTLINE_API_HOST") or cls.host,
            port=_port(env.get("WATTLINE_API_PORT")),
            workers=_count(env, "WATTLINE_API_WORKERS", cls.workers),
            pool_size=_count(env, "WATTLINE_API_POOL_SIZE", cls.pool_size),
            settlement=SettlementConfig(app.settlement_minutes, app.token_ratio),
        )
        if config.secret is None and config.jwks_url is None:
            raise SystemExit(
                "wattline api needs WATTLINE_API_SECRET (or _FILE) or WATTLINE_API_JWKS_URL: "
                "without either no token could ever be accepted"
            )
        return config


def _port(value: str | None) -> int:
    if not value:
        return ApiConfig.port
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise SystemExit(f"WATTLINE_API_PORT={value!r}: a port number 1-65535")
    return int(value)


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name)
    if not value:
        return default
    if not value.isdigit() or not 0 < int(value) <= 64:
        raise SystemExit(f"{name}={value!r}: a whole number 1-64")
    return int(value)
