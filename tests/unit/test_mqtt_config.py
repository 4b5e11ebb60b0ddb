from datetime import UTC, datetime

import pytest

from ingest.mqtt.config import MqttConfig


def test_config_reads_the_environment():
    c = MqttConfig.from_env(
        {
            "MQTT_URL": "mqtt://user:pw@broker:1884",
            "WATTLINE_MQTT_SHARED_GROUP": "ingest",
            "WATTLINE_ALLOW_UNKNOWN_METERS": "false",
            "WATTLINE_MQTT_MAX_PENDING": "20000",
        }
    )
    assert c.max_pending == 20_000
    assert (c.host, c.port, c.username, c.password) == ("broker", 1884, "user", "pw")
    assert c.shared_group == "ingest" and c.allow_unknown_meters is False
    assert MqttConfig.from_env({}) == MqttConfig()


def test_the_time_window_reads_the_shared_names_and_the_mqtt_alias():
    assert MqttConfig().min_time == datetime(2000, 1, 1, tzinfo=UTC)
    assert MqttConfig().max_future_s == 600
    c = MqttConfig.from_env({"WATTLINE_MIN_TIME": "2015-06-01", "WATTLINE_MAX_FUTURE_S": "30"})
    assert (c.min_time, c.max_future_s) == (datetime(2015, 6, 1, tzinfo=UTC), 30)
    c = MqttConfig.from_env({"WATTLINE_MIN_TIME": "2015-06-01T02:00:00+02:00"})
    assert c.min_time == datetime(2015, 6, 1, tzinfo=UTC)
    both = {"WATTLINE_MAX_FUTURE_S": "30", "WATTLINE_MQTT_MAX_FUTURE_S": "90"}
    assert MqttConfig.from_env(both).max_future_s == 90  # the older, more specific name wins


@pytest.mark.parametrize(
    "env",
    [
        {"MQTT_URL": "http://x"},
        {"WATTLINE_ALLOW_UNKNOWN_METERS": "maybe"},
        {"WATTLINE_MQTT_MAX_FUTURE_S": "-1"},
        {"WATTLINE_MQTT_MAX_PENDING": "70000"},  # above MQTT 5's Receive Maximum
        {"WATTLINE_MQTT_MAX_PENDING": "2.5"},
        {"WATTLINE_MQTT_MAX_PENDING": "0"},
        {"WATTLINE_MAX_FUTURE_S": "nan"},
        {"WATTLINE_MIN_TIME": "2000-01-01T00:00:00"},  # a time needs its zone
        {"WATTLINE_MIN_TIME": "the epoch"},
    ],
)
def test_bad_settings_are_clear_errors(env):
    with pytest.raises(SystemExit, match=next(iter(env))):
        MqttConfig.from_env(env)
