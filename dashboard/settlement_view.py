"""The live settlement estimator for one meter, from its recent readings (dashboard query
``dash_estimator_readings``) and analytics/estimator.py."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl

from analytics.estimator import Estimate, Reading, estimate
from analytics.settlement import SettlementConfig, period_start

# Readings further back than this say nothing about the current power.
LOOKBACK = timedelta(hours=1)


def window(now: datetime, tz: str, config: SettlementConfig) -> tuple[datetime, datetime]:
    """The readings the estimate needs: the current period and enough before it for the mean."""
    start = period_start(now, tz, config.period_minutes)
    return min(start, now - LOOKBACK), now


def estimate_from(
    readings: pl.DataFrame, now: datetime, tz: str, config: SettlementConfig
) -> Estimate | None:
    """None when the meter has sent nothing recently: no estimate is better than a wrong one."""
    if readings.is_empty():
        return None
    rows = [
        Reading(r["time"], r["net_power_w"], r["delta_net_wh"])
        for r in readings.iter_rows(named=True)
    ]
    return estimate(rows, now, tz, config)


def clock(t: datetime, tz: str) -> str:
    """HH:MM:SS in the meter's time zone, as the seed's display shows times."""
    return t.astimezone(ZoneInfo(tz)).strftime("%H:%M:%S")
