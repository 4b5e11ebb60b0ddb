"""The window of charger times the central system stores as such, from the environment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ingest.clock import TimeWindow
from ingest.ocpp.config import OcppConfig

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def test_defaults_are_600_s_ahead_and_2000_01_01():
    window = OcppConfig.from_env({}).time_window
    assert window == TimeWindow(timedelta(seconds=600), datetime(2000, 1, 1, tzinfo=UTC))
    assert window.problem(NOW + timedelta(seconds=600), NOW) is None
    assert window.problem(NOW + timedelta(seconds=601), NOW) is not None
    assert window.problem(datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC), NOW) is not None


def test_the_shared_names_are_read_and_the_mqtt_alias_only_where_asked():
    env = {"WATTLINE_MAX_FUTURE_S": "30", "WATTLINE_MIN_TIME": "2015-06-01"}
    window = OcppConfig.from_env(env).time_window
    assert window == TimeWindow(timedelta(seconds=30), datetime(2015, 6, 1, tzinfo=UTC))
    env = {"WATTLINE_MIN_TIME": "2015-06-01T02:00:00+02:00", "WATTLINE_MQTT_MAX_FUTURE_S": "90"}
    assert OcppConfig.from_env(env).time_window.min_time == datetime(2015, 6, 1, tzinfo=UTC)
    assert OcppConfig.from_env(env).time_window.max_future == timedelta(seconds=600)
    both = {"WATTLINE_MAX_FUTURE_S": "30", "WATTLINE_MQTT_MAX_FUTURE_S": "90"}
    assert TimeWindow.from_env(both, "WATTLINE_MQTT_MAX_FUTURE_S").max_future.total_seconds() == 90


@pytest.mark.parametrize(
    "env",
    [
        {"WATTLINE_MAX_FUTURE_S": "nan"},
        {"WATTLINE_MAX_FUTURE_S": "-5"},
        {"WATTLINE_MAX_FUTURE_S": "1e12"},
        {"WATTLINE_MIN_TIME": "2000-01-01T00:00:00"},  # a time needs its zone
        {"WATTLINE_MIN_TIME": "the epoch"},
    ],
)
def test_bad_settings_are_clear_errors(env):
    with pytest.raises(SystemExit, match=next(iter(env))):
        OcppConfig.from_env(env)
