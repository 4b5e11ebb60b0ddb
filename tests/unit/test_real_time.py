"""The real-time meter figures (analytics/real_time.py) shared by /energy/real-time and the
Meter live page."""

from __future__ import annotations

from datetime import UTC, datetime

from analytics.real_time import figures, local_midnight


def test_today_starts_at_the_meters_local_midnight():
    # 20:00 UTC is 01:30 the next day in India: today began at 18:30 UTC.
    assert local_midnight(datetime(2024, 1, 1, 20, tzinfo=UTC), "Asia/Kolkata") == datetime(
        2024, 1, 1, 18, 30, tzinfo=UTC
    )
    # Berlin's spring change day: midnight is still winter time (UTC+1), 23:00 UTC the day before.
    assert local_midnight(datetime(2024, 3, 31, 12, tzinfo=UTC), "Europe/Berlin") == datetime(
        2024, 3, 30, 23, tzinfo=UTC
    )


def test_power_sums_the_registers_and_net_is_export_minus_import():
    t1, t2 = datetime(2024, 1, 1, 10, tzinfo=UTC), datetime(2024, 1, 1, 10, 1, tzinfo=UTC)
    registers = [
        {"element": "A", "time": t1, "import_w": 1200, "export_w": None},
        {"element": "B", "time": t2, "import_w": 300, "export_w": 2000},
    ]
    f = figures(registers, {"import_wh": 1500, "export_wh": 400}, t1)
    # 1200 + 300 = 1500 W in, 0 + 2000 W out: net +500 W; today 400 - 1500 = -1100 Wh.
    assert (f["import_w"], f["export_w"], f["net_power_w"]) == (1500, 2000, 500)
    assert (f["time"], f["today_net_wh"]) == (t2, -1100)
    assert figures([], {"import_wh": 0, "export_wh": 0}, t1)["time"] is None
