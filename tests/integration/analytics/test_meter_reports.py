"""Meter burn rate, health summary and reading quality views (0010), worked by hand."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

PREPAY = "00000000-0000-0000-0000-0000000000a1"
QUIET = "00000000-0000-0000-0000-0000000000a2"

SEED = """
INSERT INTO wattline.meter_registry (id, serial, kind) VALUES
    ('00000000-0000-0000-0000-0000000000a1', 'PAY-1', 'prepay'),
    ('00000000-0000-0000-0000-0000000000a2', 'PAY-2', 'prepay');
INSERT INTO wattline.meter_prepay_balance (time, meter_id, balance)
SELECT now() - d * interval '1 day', '00000000-0000-0000-0000-0000000000a1', b
  FROM (VALUES (3, 20.00), (2, 17.00), (1, 27.00), (0, 24.00),
               (30, 99.00)) AS v (d, b);  -- 30 days ago: outside the 7-day window
INSERT INTO wattline.meter_prepay_balance (time, meter_id, balance)
VALUES (now() - interval '1 day', '00000000-0000-0000-0000-0000000000a2', 8.00),
       (now(), '00000000-0000-0000-0000-0000000000a2', 18.00);  -- a top-up only
INSERT INTO wattline.meter_health (time, meter_id, csq, clock_time_diff_seconds)
SELECT now() - h * interval '1 hour', '00000000-0000-0000-0000-0000000000a1', csq, drift
  FROM (VALUES (3, 20, 5), (2, 8, -75), (1, 12, 10), (0, 9, 61),
               (48, 0, 999)) AS v (h, csq, drift);  -- 2 days ago: outside the 24 h window
"""


@pytest.fixture
def seeded(conn):
    conn.execute(SEED)
    return conn


def _row(conn, view: str, meter: str) -> dict:
    return conn.execute(f"SELECT * FROM {view} WHERE meter_id = %s", [meter]).fetchone()


def test_burn_rate_counts_decreases_only_and_forecasts_the_run_out(seeded):
    r = _row(seeded, "meter_burn_rate", PREPAY)
    # 20 -> 17 (-3), -> 27 (a +10 top-up, not use), -> 24 (-3): 6.00 spent over 3 days
    # = 2.00 a day; 24.00 left / 2.00 = 12.0 days.
    assert (r["spent"], r["days_observed"], r["burn_per_day"]) == (D(6), D(3), D("2.00"))
    assert (r["balance"], r["days_until_empty"]) == (D("24.00"), D("12.0"))
    assert (r["runs_out_at"] - r["balance_at"]).total_seconds() == pytest.approx(12 * 86400)


def test_a_meter_that_only_topped_up_has_no_forecast(seeded):
    r = _row(seeded, "meter_burn_rate", QUIET)
    assert (r["spent"], r["burn_per_day"], r["days_until_empty"]) == (0, D("0.00"), None)


def test_the_window_is_a_setting(seeded):
    seeded.execute("SET wattline.burn_window_days = '1.5'")
    r = _row(seeded, "meter_burn_rate", PREPAY)
    # Now only 27 -> 24 over 1 day: 3.00 a day, 8.0 days left.
    assert (r["burn_per_day"], r["days_until_empty"]) == (D("3.00"), D("8.0"))


def test_health_summary_of_csq_and_clock_drift(seeded):
    r = _row(seeded, "meter_health_summary", PREPAY)
    # Last 24 h: CSQ 20, 8, 12, 9 (newest last); drift 5, -75, 10, 61 s.
    assert (r["samples"], r["latest_csq"], r["min_csq"], r["mean_csq"]) == (4, 9, 8, D("12.3"))
    # 8 and 9 are below 10: 2 of 4 = 50.0 %; |-75| and 61 are over 60 s.
    assert (r["poor_csq_samples"], r["poor_csq_pct"]) == (2, D("50.0"))
    assert (r["latest_drift_s"], r["max_abs_drift_s"], r["drifted_samples"]) == (61, 75, 2)
    assert (r["csq_poor_now"], r["drift_flagged_now"]) == (True, True)


def test_reading_quality_flags(conn):
    conn.execute(
        """
        INSERT INTO wattline.charge_points (id) VALUES ('CP-1');
        INSERT INTO wattline.transactions (id, charge_point_id, connector_id, started_at,
                                           stopped_at) OVERRIDING SYSTEM VALUE
        VALUES (7, 'CP-1', 1, '2024-01-01 10:00Z', '2024-01-01 11:00Z');
        INSERT INTO wattline.meter_values
               (time, received_at, charge_point_id, connector_id, transaction_id, unit, value,
                quality)
        VALUES ('2024-01-01 10:30Z', '2024-01-01 10:30Z', 'CP-1', 1, 7, 'Wh', 10, 'ok'),
               ('2024-01-01 11:30Z', '2024-01-01 11:30Z', 'CP-1', 1, 7, 'Wh', 20, 'ok'),
               ('2024-01-01 12:30Z', '2024-01-01 12:00Z', 'CP-1', 1, NULL, 'Wh', 30, 'ok'),
               ('2024-01-01 12:40Z', '2024-01-01 12:40Z', 'CP-1', 1, NULL, 'Wh', 5, 'reset');
        """
    )
    found = [
        r["quality"] for r in conn.execute("SELECT quality FROM meter_values_quality ORDER BY time")
    ]
    assert found == ["ok", "outside_transaction", "future_timestamp", "reset"]


def test_quality_looks_up_the_transaction_the_charger_means(conn):
    # CP-B started offline and told us transaction 7, which CP-A already had: CP-B's became row
    # 12, keeping 7 as the charger's id. CP-B's readings name 7 and fall inside its own session
    # (13:00-14:00) but outside CP-A's (10:00-11:00).
    conn.execute(
        """
        INSERT INTO wattline.charge_points (id) VALUES ('CP-A'), ('CP-B');
        INSERT INTO wattline.transactions (id, charge_point_id, connector_id, started_at,
                                           stopped_at, charger_transaction_id)
               OVERRIDING SYSTEM VALUE
        VALUES (7, 'CP-A', 1, '2024-01-01 10:00Z', '2024-01-01 11:00Z', NULL),
               (12, 'CP-B', 1, '2024-01-01 13:00Z', '2024-01-01 14:00Z', 7);
        INSERT INTO wattline.meter_values
               (time, received_at, charge_point_id, connector_id, transaction_id, unit, value)
        VALUES ('2024-01-01 13:30Z', '2024-01-01 13:30Z', 'CP-B', 1, 7, 'Wh', 10),
               ('2024-01-01 14:30Z', '2024-01-01 14:30Z', 'CP-B', 1, 7, 'Wh', 20),
               ('2024-01-01 10:30Z', '2024-01-01 10:30Z', 'CP-A', 1, 7, 'Wh', 30);
        """
    )
    found = conn.execute(
        "SELECT charge_point_id, quality FROM meter_values_quality ORDER BY charge_point_id, time"
    ).fetchall()
    assert [(r["charge_point_id"], r["quality"]) for r in found] == [
        ("CP-A", "ok"),
        ("CP-B", "ok"),
        ("CP-B", "outside_transaction"),
    ]
