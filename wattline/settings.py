"""Configuration from environment variables; the defaults work with PostgreSQL and Mosquitto
on localhost. The README's configuration table lists the same variables."""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ingest.env import positive

DEFAULT_DATABASE_URL = "postgresql://127.0.0.1:5432/wattline"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    storage: str | None = None  # None: timescale where the extension works, else postgres
    jobs_interval_s: float = 30.0
    settlement_minutes: int = 5
    token_ratio: Decimal = Decimal("1")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        jobs_interval_s = positive(env, "WATTLINE_JOBS_INTERVAL", cls.jobs_interval_s)
        minutes = env.get("SETTLEMENT_INTERVAL_MINUTES", "5")
        if not minutes.isdigit() or int(minutes) == 0 or 1440 % int(minutes):
            raise SystemExit(
                f"SETTLEMENT_INTERVAL_MINUTES={minutes!r}: a whole number of minutes dividing a day"
            )
        ratio = env.get("WATTLINE_TOKEN_RATIO", "1")
        try:
            token_ratio = Decimal(ratio)
        except InvalidOperation:
            raise SystemExit(f"WATTLINE_TOKEN_RATIO={ratio!r} is not a number") from None
        return cls(
            settlement_minutes=int(minutes),
            token_ratio=token_ratio,
            database_url=env.get("DATABASE_URL", DEFAULT_DATABASE_URL),
            storage=env.get("WATTLINE_STORAGE") or None,
            jobs_interval_s=jobs_interval_s,
        )
