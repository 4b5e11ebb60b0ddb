"""Times on the new pages in the site's time zone (WATTLINE_SITE_TZ, default Asia/Kolkata), the
zone named wherever a time is shown. A stop-gap until the shared page helpers (labels and times
for every page) land: the pages call only site_tz, local and localize, which those keep."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

DEFAULT_TZ = "Asia/Kolkata"
MISSING = "–"


def site_tz() -> str:
    tz = os.environ.get("WATTLINE_SITE_TZ", "").strip() or DEFAULT_TZ
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"WATTLINE_SITE_TZ={tz!r}: an IANA time zone such as Asia/Kolkata"
        ) from None
    return tz


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
