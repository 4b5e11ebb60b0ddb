"""Times on the new pages in the site's time zone (default Asia/Kolkata), the
zone named wherever a time is shown. A stop-gap until the shared page helpers (labels and times
for every page, dashboard/labels.py) land; site_tz and local match those by name."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import polars as pl

from wattline.settings import Settings

DEFAULT_TZ = "Asia/Kolkata"
MISSING = "–"


def site_tz() -> str:
    """The site's zone: the setting WATTLINE_SITE_TZ where this build has it (validated there),
    else Asia/Kolkata, the operator's default."""
    return getattr(Settings.from_env(), "site_tz", None) or DEFAULT_TZ


def local(t: datetime | None, tz: str, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    if t is None:
        return MISSING
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)  # the database's times are UTC instants
    return t.astimezone(ZoneInfo(tz)).strftime(fmt)


def localize(df: pl.DataFrame, tz: str) -> pl.DataFrame:
    """Every timestamp column as wall-clock time in ``tz`` (the header names the zone)."""
    return df.with_columns(
        (pl.col(c) if t.time_zone else pl.col(c).dt.replace_time_zone("UTC"))
        .dt.convert_time_zone(tz)
        .dt.replace_time_zone(None)
        for c, t in df.schema.items()
        if isinstance(t, pl.Datetime)
    )
