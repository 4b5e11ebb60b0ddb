"""The API's settings, from wattline/settings.py (every variable is read and checked there)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from analytics.settlement import SettlementConfig
from wattline.settings import DEFAULT_DATABASE_URL, Settings


@dataclass(frozen=True)
class ApiConfig:
    database_url: str = DEFAULT_DATABASE_URL
    secret: str | None = None  # HS256 tokens (wattline token issue)
    jwks_url: str | None = None  # RS256/ES256 tokens of an identity provider
    audience: str = "wattline"
    issuer: str = "wattline"
    host: str = "0.0.0.0"
    port: int = 8080
    settlement: SettlementConfig = SettlementConfig(5, Decimal("1"))
    pool_size: int = 8  # connections per worker process
    workers: int = 1

    @classmethod
    def from_settings(cls, s: Settings) -> ApiConfig:
        config = cls(
            database_url=s.database_url,
            secret=s.api_secret.get_secret_value() if s.api_secret else None,
            jwks_url=s.api_jwks_url,
            audience=s.api_audience,
            issuer=s.api_issuer,
            host=s.api_host,
            port=s.api_port,
            settlement=SettlementConfig(s.settlement_minutes, s.token_ratio),
            pool_size=s.api_pool_size,
            workers=s.api_workers,
        )
        if config.secret is None and config.jwks_url is None:
            raise SystemExit(
                "wattline api needs WATTLINE_API_SECRET (or _FILE) or WATTLINE_API_JWKS_URL: "
                "without either no token could ever be accepted"
            )
        return config

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ApiConfig:
        return cls.from_settings(Settings.from_env(env))
