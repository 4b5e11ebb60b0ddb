"""Settlement periods: clock-aligned in the site's time zone, net = export − import.

Periods are aligned on the local wall clock (a 60-minute period in Asia/Kolkata starts at
:00 local, which is :30 UTC), and a local day has as many periods as it has hours: 276
five-minute periods on a 23-hour day, 300 on a 25-hour one. The energy between two readings
belongs to the period of the later reading, as in the rollups, so periods add up exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import polars as pl

IDLE_BAND_WH = 50  # |net| at or below this is IDLE


@dataclass(frozen=True)
class SettlementConfig:
    period_minutes: int = 5
    token_ratio: Decimal = Decimal("1")  # tokens per net kWh

    def __post_init__(self) -> None:
        if self.period_minutes <= 0 or 1440 % self.period_minutes:
            raise ValueError("SETTLEMENT_INTERVAL_MINUTES must divide a day (1440 minutes)")


def status(net_wh: float | Decimal) -> str:
    if net_wh > IDLE_BAND_WH:
        return "EXPORTING"
    if net_wh < -IDLE_BAND_WH:
        return "IMPORTING"
    return "IDLE"


def tokens(net_wh: Decimal, ratio: Decimal) -> Decimal:
    """Tokens for a net energy, to 3 decimals (``settle`` computes the same over columns)."""
    return (Decimal(net_wh) / 1000 * ratio).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


def period_start(t: datetime, tz: str, minutes: int) -> datetime:
    """Start of the period holding ``t``, aligned on the local wall clock of ``tz``."""
    local = t.astimezone(ZoneInfo(tz))
    into = timedelta(
        minutes=(local.hour * 60 + local.minute) % minutes,
        seconds=local.second,
        microseconds=local.microsecond,
    )
    return t - into


def period_starts(times: pl.Expr, tz: str, minutes: int) -> pl.Expr:
    """``period_start`` over a column of UTC datetimes."""
    local = times.dt.convert_time_zone(tz)
    into = pl.duration(
        minutes=(local.dt.hour().cast(pl.Int64) * 60 + local.dt.minute()) % minutes,
        seconds=local.dt.second(),
        microseconds=local.dt.microsecond(),
    )
    return times - into


def settle(readings: pl.DataFrame, tz: str, config: SettlementConfig) -> pl.DataFrame:
    """Readings (meter_id, time UTC, delta_import_wh, delta_export_wh) → one row per meter and
    period: period_start, period_end, import_wh, export_wh, net_wh, status, tokens."""
    minutes = config.period_minutes
    periods = (
        readings.lazy()
        .with_columns(period_start=period_starts(pl.col("time"), tz, minutes))
        .group_by("meter_id", "period_start")
        .agg(
            import_wh=pl.col("delta_import_wh").fill_null(0).sum(),
            export_wh=pl.col("delta_export_wh").fill_null(0).sum(),
        )
        .with_columns(
            period_end=pl.col("period_start") + pl.duration(minutes=minutes),
            net_wh=pl.col("export_wh") - pl.col("import_wh"),
        )
        .sort("meter_id", "period_start")
        .collect()
    )
    net = pl.col("net_wh")
    return periods.with_columns(
        status=pl.when(net > IDLE_BAND_WH)
        .then(pl.lit("EXPORTING"))
        .when(net < -IDLE_BAND_WH)
        .then(pl.lit("IMPORTING"))
        .otherwise(pl.lit("IDLE")),
        tokens=(net / 1000 * float(config.token_ratio)).round(3, mode="half_away_from_zero"),
    ).select(
        "meter_id",
        "period_start",
        "period_end",
        "import_wh",
        "export_wh",
        "net_wh",
        "status",
        "tokens",
    )
