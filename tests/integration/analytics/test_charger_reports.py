"""Charger reports (named queries in sql/queries/analytics.sql) and the completeness report,
on fixed data with the figures worked by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from analytics.completeness import completeness_report, expected_interval_s
from sql import queries, rollups

LO, HI = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC)


def _rows(conn, name: str, **params) -> list[dict]:
    return conn.execute(queries.get(name), params).fetchall()


@pytest.fixture
def chargers(conn):
    conn.execute("INSERT INTO wattline.charge_points (id) VALUES ('CP-1'), ('CP-2')")
    return conn


def test_availability_from_the_status_history(chargers):
    chargers.execute(
        """
        INSERT INTO wattline.status_notifications
               (time, received_at, charge_point_id, connector_id, status)
        VALUES ('2023-12-31 20:00Z', '2023-12-31 20:00Z', 'CP-1', 1, 'Faulted'),
               ('2024-01-01 06:00Z', '2024-01-01 06:00Z', 'CP-1', 1, 'Available'),
               ('2024-01-01 09:00Z', '2024-01-01 09:00Z', 'CP-1', 1, 'Charging'),
               ('2024-01-01 18:00Z', '2024-01-01 18:00Z', 'CP-1', 1, 'Unavailable'),
               ('2024-01-01 12:00Z', '2024-01-01 12:00Z', 'CP-1', 2, 'Charging'),
               ('2024-01-01 12:00Z', '2024-01-01 12:00Z', 'CP-2', 1, 'Faulted');
        """
    )
    found = {
        (r["charge_point_id"], r["connector_id"]): r
        for r in _rows(chargers, "charger_availability", lo=LO, hi=HI, charge_point_ids=["CP-1"])
    }
    assert set(found) == {("CP-1", 1), ("CP-1", 2)}  # CP-2 was not asked for
    # CP-1/1: Faulted carried in 00:00-06:00, usable 06:00-18:00, Unavailable 18:00-24:00:
    # 12 h up, 12 h down: 50.0 %.
    c1 = found[("CP-1", 1)]
    assert (c1["up_s"], c1["down_s"], c1["availability_pct"]) == (43200, 43200, D("50.0"))
    assert c1["changes"] == 3
    # CP-1/2: unknown until 12:00, then Charging: 12 h up of 12 h known: 100.0 %.
    assert (found[("CP-1", 2)]["up_s"], found[("CP-1", 2)]["availability_pct"]) == (
        43200,
        D("100.0"),
    )
    every = _rows(chargers, "charger_availability", lo=LO, hi=HI, charge_point_ids=None)
    assert [r["availability_pct"] for r in every if r["charge_point_id"] == "CP-2"] == [D("0.0")]


def test_clock_drift_is_the_median_of_charger_minus_server_time(chargers):
    chargers.execute(
        """
        INSERT INTO wattline.status_notifications
               (time, received_at, charge_point_id, connector_id, status)
        VALUES ('2024-01-01 10:00:05Z', '2024-01-01 10:00Z', 'CP-1', 1, 'Available'),
               ('2024-01-01 11:00:07Z', '2024-01-01 11:00Z', 'CP-1', 1, 'Charging'),
               ('2024-01-01 12:02:00Z', '2024-01-01 12:00Z', 'CP-1', 1, 'Finishing');
        INSERT INTO wattline.transactions (charge_point_id, connector_id, started_at,
               start_received_at, stopped_at, stop_received_at)
        VALUES ('CP-2', 1, '2024-01-01 09:58:30Z', '2024-01-01 10:00Z',
                '2024-01-01 10:58:30Z', '2024-01-01 11:00Z');
        """
    )
    found = {r["charge_point_id"]: r for r in _rows(chargers, "charger_clock_drift", lo=LO, hi=HI)}
    # CP-1: +5, +7, +120 s: median 7.0, the 120 a one-off; latest (12:00) +120. Not flagged.
    cp1 = found["CP-1"]
    assert (cp1["samples"], cp1["median_drift_s"], cp1["max_abs_drift_s"]) == (3, 7, 120)
    assert (cp1["latest_drift_s"], cp1["drift_flagged"]) == (120, False)
    # CP-2: start and stop both 90 s behind: median -90.0, over 60 s: flagged.
    assert (found["CP-2"]["median_drift_s"], found["CP-2"]["drift_flagged"]) == (-90, True)


def test_transactions_page_by_page(chargers):
    chargers.execute(
        "INSERT INTO wattline.transactions (charge_point_id, connector_id, started_at)"
        " SELECT 'CP-1', 1, '2024-01-01 00:00Z'::timestamptz + n * interval '1 hour'"
        "   FROM generate_series(0, 4) n;"
        "INSERT INTO wattline.transactions (charge_point_id, connector_id, started_at)"
        " VALUES ('CP-1', 1, '2024-01-02 01:00Z'), ('CP-2', 1, '2024-01-01 01:00Z')"
    )
    page = {"charge_point_id": "CP-1", "lo": LO, "hi": HI, "limit": 2}
    pages = [_rows(chargers, "charger_transactions", **page, offset=o) for o in (0, 2, 4)]
    # 5 sessions in the window, newest first: 04:00 03:00 | 02:00 01:00 | 00:00.
    assert [[r["started_at"].hour for r in p] for p in pages] == [[4, 3], [2, 1], [0]]
    assert {r["total_rows"] for p in pages for r in p} == {5}


def test_energy_over_time_for_chosen_chargers(chargers):
    chargers.execute(
        """
        INSERT INTO wattline.meter_values (time, charge_point_id, connector_id, unit, value, delta)
        VALUES ('2024-01-01 10:10Z', 'CP-1', 1, 'Wh', 1000, 0),
               ('2024-01-01 10:50Z', 'CP-1', 1, 'Wh', 1600, 600),
               ('2024-01-01 11:20Z', 'CP-1', 1, 'Wh', 2500, 900),
               ('2024-01-01 11:30Z', 'CP-1', 2, 'Wh', 700, 400),
               ('2024-01-01 11:30Z', 'CP-2', 1, 'Wh', 900, 900);
        """
    )
    rollups.refresh(chargers, ["connector_energy_hourly", "connector_energy_daily"], LO, HI)
    params = {"lo": LO, "hi": HI, "charge_point_ids": ["CP-1"]}
    hourly = _rows(chargers, "charger_energy", width="hourly", **params)
    # 10:00: 0 + 600; 11:00: 900 (connector 1) + 400 (connector 2) = 1300.
    assert [(r["bucket"].hour, r["energy_wh"]) for r in hourly] == [(10, 600), (11, 1300)]
    daily = _rows(chargers, "charger_energy", width="daily", **params)
    assert [(r["bucket"], r["energy_wh"], r["readings"]) for r in daily] == [(LO, 1900, 4)]


def test_completeness_per_device_and_day(conn):
    conn.execute(
        """
        INSERT INTO wattline.charge_points (id) VALUES ('CP-1');
        INSERT INTO wattline.meter_values (time, charge_point_id, connector_id, unit, value)
        SELECT '2024-01-01 00:00Z'::timestamptz + n * interval '1 minute', 'CP-1', 1, 'Wh', n
          FROM generate_series(0, 1079) n;  -- 18 hours of minutely samples on day 1
        INSERT INTO wattline.meter_registry (id, serial) VALUES
            ('00000000-0000-0000-0000-0000000000b1', 'M-1');
        INSERT INTO wattline.register_readings (time, register_id, meter_id, element, import_wh)
        SELECT '2024-01-02 00:00Z'::timestamptz + n * interval '2 minutes',
               gen_random_uuid(), '00000000-0000-0000-0000-0000000000b1', e, n
          FROM generate_series(0, 359) n, (VALUES ('A'), ('B')) AS v (e);
        """
    )
    lo, hi = LO, datetime(2024, 1, 2, 12, tzinfo=UTC)  # a day and a half
    report = completeness_report(conn, lo, hi, expected_interval_s({}))
    rows = [
        (
            r["device"],
            r["day"].day,
            r["expected"],
            r["received"],
            r["missing"],
            r["completeness_pct"],
        )
        for r in report.iter_rows(named=True)
    ]
    assert rows == [
        # 1440 expected at 60 s; 1080 received: 75.0 %. Day 2: 12 h in the window = 720,
        # and CP-1 sent nothing.
        ("CP-1:1", 1, 1440, 1080, 360, 75.0),
        ("CP-1:1", 2, 720, 0, 720, 0.0),
        # M-1 was first seen on day 2 (its first reading, older than its registry row), so
        # day 1 is no gap of its; on day 2 every 2 minutes for 12 h: 360 times (two registers
        # read together count once) of 720: 50.0 %.
        ("M-1", 2, 720, 360, 360, 50.0),
    ]


def test_completeness_starts_when_each_device_was_first_seen(conn):
    # A four-day window, 2024-01-01 to 01-05. CP-NEW connects on day 3 at 00:00 and sends every
    # minute until day 4 noon; CP-LATE connects on day 3 at 18:00 and sends every minute to
    # midnight; meter M-NEW is registered on day 2 at 12:00 but reads first on day 3.
    conn.execute(
        """
        INSERT INTO wattline.charge_points (id, first_seen_at) VALUES
            ('CP-NEW', '2024-01-03 00:00Z'), ('CP-LATE', '2024-01-03 18:00Z');
        INSERT INTO wattline.meter_values (time, charge_point_id, connector_id, unit, value)
        SELECT '2024-01-03 00:00Z'::timestamptz + n * interval '1 minute', 'CP-NEW', 1, 'Wh', n
          FROM generate_series(0, 2159) n
        UNION ALL
        SELECT '2024-01-03 18:00Z'::timestamptz + n * interval '1 minute', 'CP-LATE', 1, 'Wh', n
          FROM generate_series(0, 359) n;
        INSERT INTO wattline.meter_registry (id, serial, created_at) VALUES
            ('00000000-0000-0000-0000-0000000000b2', 'M-NEW', '2024-01-02 12:00Z');
        INSERT INTO wattline.register_readings (time, register_id, meter_id, element, import_wh)
        SELECT '2024-01-03 00:00Z'::timestamptz + n * interval '1 minute',
               '00000000-0000-0000-0000-0000000000c2', '00000000-0000-0000-0000-0000000000b2',
               'SINGLE', n
          FROM generate_series(0, 1439) n;
        """
    )
    lo, hi = LO, datetime(2024, 1, 5, tzinfo=UTC)
    report = completeness_report(conn, lo, hi, 60)
    rows = [
        (r["device"], r["day"].day, r["expected"], r["received"], r["completeness_pct"])
        for r in report.iter_rows(named=True)
    ]
    assert rows == [
        # Day 3 from 18:00: 6 h = 360 expected, 360 received; day 4 silent.
        ("CP-LATE:1", 3, 360, 360, 100.0),
        ("CP-LATE:1", 4, 1440, 0, 0.0),
        # No rows for days 1 and 2; day 3 whole, 1440 of 1440; day 4 until noon, 720 of 1440.
        ("CP-NEW:1", 3, 1440, 1440, 100.0),
        ("CP-NEW:1", 4, 1440, 720, 50.0),
        # Registered at noon on day 2 and silent until day 3: day 2 counts from noon.
        ("M-NEW", 2, 720, 0, 0.0),
        ("M-NEW", 3, 1440, 1440, 100.0),
        ("M-NEW", 4, 1440, 0, 0.0),
    ]
    first = {r["device"]: r["first_seen"] for r in report.iter_rows(named=True)}
    assert first["M-NEW"] == datetime(2024, 1, 2, 12, tzinfo=UTC)


def test_a_bad_expected_interval_is_refused():
    with pytest.raises(ValueError, match="WATTLINE_EXPECTED_INTERVAL_S='0'"):
        expected_interval_s({"WATTLINE_EXPECTED_INTERVAL_S": "0"})
    assert expected_interval_s({"WATTLINE_EXPECTED_INTERVAL_S": "300"}) == 300
