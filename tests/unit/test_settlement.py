"""Settlement periods and the live estimator, worked by hand."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from analytics.estimator import Reading, estimate
from analytics.settlement import SettlementConfig, period_start, settle, status

LONDON = ZoneInfo("Europe/London")


def _minutely(start: datetime, end: datetime) -> pl.DataFrame:
    """One reading a minute: 1 Wh imported and 3 Wh exported since the previous one."""
    n = int((end - start).total_seconds() // 60)
    return pl.DataFrame(
        {
            "meter_id": ["m"] * n,
            "time": [start + timedelta(minutes=i) for i in range(n)],
            "delta_import_wh": [1.0] * n,
            "delta_export_wh": [3.0] * n,
        },
        schema_overrides={"time": pl.Datetime("us", "UTC")},
    )


@pytest.mark.parametrize(("day", "hours"), [(date(2024, 3, 31), 23), (date(2024, 10, 27), 25)])
@pytest.mark.parametrize("minutes", [5, 60])
def test_a_local_day_across_a_dst_change_has_a_period_per_local_slot(day, hours, minutes):
    start = datetime.combine(day, time(0), tzinfo=LONDON).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=LONDON).astimezone(UTC)
    assert end - start == timedelta(hours=hours)
    periods = settle(_minutely(start, end), "Europe/London", SettlementConfig(minutes))
    assert periods.height == hours * 60 // minutes  # 276 or 300 five-minute periods
    assert periods["period_start"][0] == start  # local midnight
    # Every period is full: minutes x 1 Wh imported, minutes x 3 Wh exported.
    assert set(periods["import_wh"]) == {float(minutes)}
    assert set(periods["net_wh"]) == {2.0 * minutes}
    # 5-minute periods net 10 Wh (IDLE, within ±50); hourly ones 120 Wh (EXPORTING, 0.12 tokens).
    assert set(periods["status"]) == {"IDLE" if minutes == 5 else "EXPORTING"}
    assert set(periods["tokens"]) == {round(2.0 * minutes / 1000, 3)}


def test_periods_align_on_the_local_clock():
    # Kolkata is UTC+05:30: an hourly period starts at :00 local, which is :30 UTC.
    t = datetime(2024, 1, 1, 10, 7, tzinfo=UTC)
    assert period_start(t, "Asia/Kolkata", 60) == datetime(2024, 1, 1, 9, 30, tzinfo=UTC)
    assert period_start(t, "UTC", 5) == datetime(2024, 1, 1, 10, 5, tzinfo=UTC)


def test_status_thresholds_are_exclusive_at_50_wh():
    assert [status(x) for x in (51, 50, -50, -51)] == ["EXPORTING", "IDLE", "IDLE", "IMPORTING"]


def test_a_period_length_that_does_not_divide_a_day_is_refused():
    with pytest.raises(ValueError, match="must divide a day"):
        SettlementConfig(7)


def test_the_estimator_mid_period():
    # 11 readings a minute apart, 23:53:30 .. 00:03:30; 60 Wh net each. Powers: 1000 W, then
    # 3000, 3100, ..., 3900 W. Now 00:03:51 in the 00:00-00:05 period.
    t0 = datetime(2024, 6, 1, 23, 53, 30, tzinfo=UTC)
    powers = [1000.0] + [3000.0 + 100 * i for i in range(10)]
    readings = [Reading(t0 + timedelta(minutes=i), p, 60.0) for i, p in enumerate(powers)]
    now = datetime(2024, 6, 2, 0, 3, 51, tzinfo=UTC)
    est = estimate(readings, now, "UTC", SettlementConfig(5, token_ratio=D("1")))
    assert est.period_start == datetime(2024, 6, 2, 0, 0, tzinfo=UTC)
    assert est.period_end == datetime(2024, 6, 2, 0, 5, tzinfo=UTC)
    assert est.current_power_kw == 3.9
    assert est.average_power_kw == 3.45  # mean of the last 10: 3000..3900
    assert est.net_energy_wh == 240.0  # 4 readings inside the period
    assert est.progress_pct == 77.0  # 231 s of 300
    assert est.time_remaining == "01:09"
    # 240 + 3450 W x 69 s / 3600 = 306.125 Wh
    assert est.estimated_net_wh == 306.1
    assert (est.running_tokens, est.estimated_tokens) == (D("0.240"), D("0.306"))
    assert est.status == "EXPORTING"
