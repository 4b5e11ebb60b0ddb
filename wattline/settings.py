"""Configuration from environment variables; the defaults work with PostgreSQL and Mosquitto
on localhost. The README's configuration table lists the same variables."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "postgresql://127.0.0.1:5432/wattline"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    storage: str | None = None  # None: timescale where the extension works, else postgres
    jobs_interval_s: float = 30.0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        interval = env.get("WATTLINE_JOBS_INTERVAL", str(cls.jobs_interval_s))
        try:
            jobs_interval_s = float(interval)
        except ValueError:
            raise SystemExit(
                f"WATTLINE_JOBS_INTERVAL={interval!r} is not a number of seconds"
            ) from None
        if jobs_interval_s <= 0:
            raise SystemExit("WATTLINE_JOBS_INTERVAL must be positive")
        return cls(
            database_url=env.get("DATABASE_URL", DEFAULT_DATABASE_URL),
            storage=env.get("WATTLINE_STORAGE") or None,
            jobs_interval_s=jobs_interval_s,
        )
