"""How the dashboard shows the settlement estimator's times (the estimate itself comes from
analytics/estimator.py, as in the CLI and the API)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def clock(t: datetime, tz: str) -> str:
    """HH:MM:SS in the meter's time zone, as the seed's display shows times."""
    return t.astimezone(ZoneInfo(tz)).strftime("%H:%M:%S")
