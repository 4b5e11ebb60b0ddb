"""Dashboard settings from the environment: where to read, where commands are written, and the
reader and operator passwords. Reading and writing use different roles so that a bug in a page
can never change data."""

from __future__ import annotations

import os
from dataclasses import dataclass

from psycopg import conninfo

from wattline.settings import DEFAULT_DATABASE_URL

READER_ROLE = "wattline_reader"


def reader_dsn(database_url: str) -> str:
    """The same server and database as ``database_url``, as the read-only role."""
    params = conninfo.conninfo_to_dict(database_url)
    params["user"] = READER_ROLE
    params.pop("password", None)
    return conninfo.make_conninfo(**params)


@dataclass(frozen=True)
class DashboardConfig:
    reader_url: str
    writer_url: str
    operator_password: str | None  # None: operator commands are disabled
    refresh_s: float = 5.0
    # Reads (every page) behind a shared password; None: open, unless OIDC is configured
    # (.streamlit/secrets.toml [auth]), which then takes its place.
    dashboard_password: str | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> DashboardConfig:
        env = os.environ if env is None else env
        writer = env.get("DATABASE_URL", DEFAULT_DATABASE_URL)
        return cls(
            reader_url=env.get("WATTLINE_READER_URL") or reader_dsn(writer),
            writer_url=writer,
            operator_password=env.get("WATTLINE_OPERATOR_PASSWORD") or None,
            refresh_s=float(env.get("WATTLINE_DASHBOARD_REFRESH", "5")),
            dashboard_password=env.get("WATTLINE_DASHBOARD_PASSWORD") or None,
        )
