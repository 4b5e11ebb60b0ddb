import pytest

from ingest.mqtt.config import MqttConfig


def test_config_reads_the_environment():
    c = MqttConfig.from_env(
        {
            "MQTT_URL": "mqtt://user:pw@broker:1884",
            "WATTLINE_MQTT_SHARED_GROUP": "ingest",
            "WATTLINE_ALLOW_UNKNOWN_METERS": "false",
        }
    )
    assert (c.host, c.port, c.username, c.password) == ("broker", 1884, "user", "pw")
    assert c.shared_group == "ingest" and c.allow_unknown_meters is False
    assert MqttConfig.from_env({}) == MqttConfig()


@pytest.mark.parametrize(
    "env",
    [
        {"MQTT_URL": "http://x"},
        {"WATTLINE_ALLOW_UNKNOWN_METERS": "maybe"},
        {"WATTLINE_MQTT_MAX_FUTURE_S": "-1"},
    ],
)
def test_bad_settings_are_clear_errors(env):
    with pytest.raises(SystemExit):
        MqttConfig.from_env(env)
