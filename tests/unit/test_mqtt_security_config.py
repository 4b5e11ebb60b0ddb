import pytest

from ingest.mqtt.config import MqttConfig


def test_mqtts_credentials_and_tls_files_from_the_environment(tmp_path):
    ca, cert, key, secret = (tmp_path / n for n in ("ca.pem", "c.pem", "k.pem", "pw"))
    for path in (ca, cert, key):
        path.write_text("-")
    secret.write_text("p@ss:w/rd\n")
    c = MqttConfig.from_env(
        {
            "MQTT_URL": "mqtts://broker.example",
            "WATTLINE_MQTT_USERNAME": "wattline-ingest",
            "WATTLINE_MQTT_PASSWORD_FILE": str(secret),
            "WATTLINE_MQTT_CA": str(ca),
            "WATTLINE_MQTT_CERT": str(cert),
            "WATTLINE_MQTT_KEY": str(key),
            "WATTLINE_MQTT_MAX_PACKET_BYTES": "1048576",
        }
    )
    assert (c.tls, c.host, c.port) == (True, "broker.example", 8883)
    assert (c.username, c.password) == ("wattline-ingest", "p@ss:w/rd")
    assert (c.ca_file, c.cert_file, c.key_file) == (str(ca), str(cert), str(key))
    assert c.max_packet_bytes == 1_048_576
    assert "p@ss" not in repr(c)


def test_url_credentials_are_decoded_and_never_shown():
    c = MqttConfig.from_env({"MQTT_URL": "mqtt://meter%2F1:s%40cret@h:1884"})
    assert (c.tls, c.port, c.username, c.password) == (False, 1884, "meter/1", "s@cret")
    assert c.safe_url == "mqtt://meter%2F1:***@h:1884"
    assert "s%40cret" not in repr(c) and "url='mqtt://meter%2F1:***@h:1884'" in repr(c)
    assert MqttConfig.from_env({}).max_packet_bytes == 2 * 1024 * 1024


@pytest.mark.parametrize(
    "env",
    [
        {"WATTLINE_MQTT_CA": "/no/such/ca.pem", "MQTT_URL": "mqtts://h"},
        {"WATTLINE_MQTT_PASSWORD_FILE": "/no/such/secret"},
        {"WATTLINE_MQTT_KEY": "/etc/hostname", "MQTT_URL": "mqtts://h"},  # a key needs its cert
        {"WATTLINE_MQTT_CA": "/etc/hostname"},  # TLS files with mqtt://
        {"WATTLINE_MQTT_MAX_PACKET_BYTES": "100"},
        {"WATTLINE_MQTT_MAX_PACKET_BYTES": "300000000"},
    ],
)
def test_bad_security_settings_are_clear_errors(env):
    with pytest.raises(SystemExit, match=next(iter(env))):
        MqttConfig.from_env(env)


def test_a_bad_url_is_named_without_its_password():
    with pytest.raises(SystemExit) as exc:
        MqttConfig.from_env({"MQTT_URL": "http://u:topsecret@h"})
    assert "topsecret" not in str(exc.value)
