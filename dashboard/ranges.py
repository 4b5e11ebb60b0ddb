"""Time ranges picked on the pages: a preset (the default is the last 24 hours) or whole days."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

PRESETS = {
    "Last 24 hours": timedelta(hours=24),
    "Last 7 days": timedelta(days=7),
    "Last 30 days": timedelta(days=30),
}
CUSTOM = "Custom dates"


def preset_range(label: str, now: datetime) -> tuple[datetime, datetime]:
    return now - PRESETS[label], now


def days_range(first: date, last: date) -> tuple[datetime, datetime]:
    """From the start of ``first`` to the end of ``last``, UTC days as in the rollups."""
    lo = datetime.combine(first, time(), UTC)
    return lo, datetime.combine(last, time(), UTC) + timedelta(days=1)


def utcnow() -> datetime:
    """Now, floored to 10 s so reruns within a few seconds share cached query results."""
    now = datetime.now(UTC).replace(microsecond=0)
    return now - timedelta(seconds=now.second % 10)
