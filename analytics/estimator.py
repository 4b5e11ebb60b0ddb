"""The live settlement estimator for one meter: where the current period stands and where it
will end if the recent mean power holds (the fields of the settlement estimator seed).

One implementation for the CLI, the dashboard and the API (issue 16, item 4): each reads the
named query ``estimator_readings`` over ``window`` and calls ``estimate_recent``. Before, the
CLI took the last 10 readings whatever their age while the dashboard looked back one hour, so
a meter silent for a day got a "current power" from yesterday in one and nothing in the other.
Now a meter with nothing in the window has no estimate (None) everywhere."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from analytics.settlement import SettlementConfig, period_start, status, tokens

MEAN_OF_LAST = 10  # readings in the average power
# Readings further back than this say nothing about the current power.
LOOKBACK = timedelta(hours=1)


@dataclass(frozen=True)
class Reading:
    time: datetime
    net_power_w: float  # export − import; positive while exporting
    delta_net_wh: float  # export − import energy since the previous reading


@dataclass(frozen=True)
class Estimate:
    status: str
    period_minutes: int
    current_power_kw: float
    average_power_kw: float
    net_energy_wh: float
    running_tokens: Decimal
    estimated_tokens: Decimal
    estimated_net_wh: float
    period_start: datetime
    now: datetime
    period_end: datetime
    progress_pct: float
    time_remaining: str  # MM:SS


def estimate(readings: list[Reading], now: datetime, tz: str, config: SettlementConfig) -> Estimate:
    """``readings``: the meter's recent readings in time order (at least the current period and
    the last ``MEAN_OF_LAST``). Net energy counts readings inside the current period only."""
    if now.tzinfo is None:
        raise ValueError("now must carry a time zone")
    minutes = config.period_minutes
    start = period_start(now, tz, minutes)
    end = start + timedelta(minutes=minutes)
    in_period = [r for r in readings if period_start(r.time, tz, minutes) == start]
    net_wh = sum(r.delta_net_wh for r in in_period)
    recent = readings[-MEAN_OF_LAST:]
    current_w = recent[-1].net_power_w if recent else 0.0
    mean_w = sum(r.net_power_w for r in recent) / len(recent) if recent else 0.0
    remaining = max(end - now, timedelta(0))
    estimated_wh = net_wh + mean_w * remaining.total_seconds() / 3600
    elapsed = (now - start).total_seconds()
    seconds_left = round(remaining.total_seconds())
    return Estimate(
        status=status(estimated_wh),
        period_minutes=minutes,
        current_power_kw=round(current_w / 1000, 2),
        average_power_kw=round(mean_w / 1000, 2),
        net_energy_wh=round(net_wh, 1),
        running_tokens=tokens(Decimal(str(net_wh)), config.token_ratio),
        estimated_tokens=tokens(Decimal(str(estimated_wh)), config.token_ratio),
        estimated_net_wh=round(estimated_wh, 1),
        period_start=start,
        now=now,
        period_end=end,
        progress_pct=round(elapsed / (minutes * 60) * 100, 1),
        time_remaining=f"{seconds_left // 60:02d}:{seconds_left % 60:02d}",
    )


def window(now: datetime, tz: str, config: SettlementConfig) -> tuple[datetime, datetime]:
    """The readings the estimate needs: the current period and the lookback before it."""
    start = period_start(now, tz, config.period_minutes)
    return min(start, now - LOOKBACK), now


def estimate_recent(
    rows: Iterable[Mapping], now: datetime, tz: str, config: SettlementConfig
) -> Estimate | None:
    """``rows``: the ``estimator_readings`` query over ``window`` (time, net_power_w,
    delta_net_wh). None when the meter sent nothing in it: no estimate beats a wrong one."""
    readings = [Reading(r["time"], r["net_power_w"], r["delta_net_wh"]) for r in rows]
    if not readings:
        return None
    return estimate(readings, now, tz, config)
