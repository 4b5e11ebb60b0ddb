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


@pytest.mark.parametrize(
    "env",
    [
        {"MQTT_URL": "http://x"},
        {"WATTLINE_ALLOW_UNKNOWN_METERS": "maybe"},
        {"WATTLINE_MQTT_MAX_FUTURE_S": "-1"},
        {"WATTLINE_MQTT_MAX_PENDING": "70000"},  # above MQTT 5's Receive Maximum
        {"WATTLINE_MQTT_MAX_PENDING": "2.5"},
        {"WATTLINE_MQTT_MAX_PENDING": "0"},
    ],
)
def test_bad_settings_are_clear_errors(env):
    with pytest.raises(SystemExit, match=next(iter(env))):
        MqttConfig.from_env(env)
