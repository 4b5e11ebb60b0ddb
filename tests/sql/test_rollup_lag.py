"""wattline_rollup_refresh_lag_seconds: how long changed data waits for its rollup, read from
the invalidation log (postgres) or TimescaleDB's job stats (timescale)."""

from __future__ import annotations

import pytest
import rollup_data

from sql import rollups
from wattline.observe import metrics, rollup_lag

ROLLUPS = {
    "connector_energy_15m", "connector_energy_daily", "connector_energy_hourly",
    "meter_energy_5m", "meter_energy_daily", "meter_energy_hourly", "prepay_balance_daily",
}  # fmt: skip


def exported(name: str, rollup: str) -> float | None:
    return metrics.REGISTRY.get_sample_value(name, {"rollup": rollup})


@pytest.mark.profiles("postgres")
def test_changes_wait_in_the_invalidation_log_until_a_refresh(tuple_conn):
    rollup_data.load(tuple_conn)
    tuple_conn.execute(
        "UPDATE wattline_admin.rollup_invalidations SET logged_at = now() - interval '90 seconds'"
    )
    lags = rollup_lag.update(tuple_conn)
    assert set(lags) == ROLLUPS
    for name in ROLLUPS:  # logged 90 s ago, and the test's own seconds since
        assert 90 <= exported("wattline_rollup_refresh_lag_seconds", name) < 90 + 60
        assert exported("wattline_rollup_pending_invalidations", name) >= 1
    rollups.refresh(tuple_conn)
    assert rollup_lag.update(tuple_conn) == dict.fromkeys(ROLLUPS, 0.0)
    for name in ROLLUPS:
        assert exported("wattline_rollup_pending_invalidations", name) == 0


@pytest.mark.profiles("timescale")
def test_continuous_aggregates_report_the_time_since_their_policy_succeeded(tuple_conn):
    # The test template's policies are unscheduled and have never run: the lag counts from
    # when the policy was created, and goes on growing.
    lags = rollup_lag.update(tuple_conn)
    assert set(lags) == ROLLUPS
    assert all(lag >= 0 for lag in lags.values())
    later = rollup_lag.update(tuple_conn)
    assert all(later[name] >= lags[name] for name in ROLLUPS)
