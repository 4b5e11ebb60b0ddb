"""Dashboard settings, from the one settings object: where to read, where commands are written,
and the reader and operator passwords. Reading and writing use different roles so that a bug in a
page can never change data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from wattline.settings import READER_ROLE, Settings, reader_dsn

__all__ = ["READER_ROLE", "DashboardConfig", "reader_dsn"]


@dataclass(frozen=True)
class DashboardConfig:
    reader_url: str = field(repr=False)
    writer_url: str = field(repr=False)
    operator_password: str | None = field(repr=False)  # None: operator commands are disabled
    refresh_s: float = 5.0
    # Reads (every page) behind a shared password; None: open, unless OIDC is configured
    # (.streamlit/secrets.toml [auth]), which then takes its place.
    dashboard_password: str | None = field(default=None, repr=False)
    site_tz: str = "Asia/Kolkata"  # the zone pages show times in (WATTLINE_SITE_TZ)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DashboardConfig:
        s = Settings.from_env(env)

        def secret(value) -> str | None:
            return value.get_secret_value() if value is not None else None

        return cls(
            reader_url=s.reader_url,
            writer_url=s.database_url,
            operator_password=secret(s.operator_password),
            refresh_s=s.dashboard_refresh_s,
            dashboard_password=secret(s.dashboard_password),
            site_tz=s.site_tz,
        )
