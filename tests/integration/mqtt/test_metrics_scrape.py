"""/metrics of real `wattline ocpp` and `wattline mqtt` processes after a known load: every
count below is worked out by hand from what the test sends."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from websockets.sync.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from bench.ocpp_load import free_port  # noqa: E402
from tests.observed import Observed, until  # noqa: E402


def meter_values(message_id: str, minutes_ago: int, wh: int) -> str:
    at = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()
    sample = {"timestamp": at, "sampledValue": [{"value": str(wh)}]}
    return json.dumps([2, message_id, "MeterValues", {"connectorId": 1, "meterValue": [sample]}])


def test_ocpp_counts_after_seven_meter_values_and_two_bad_frames(db_url, tmp_path):
    port = free_port()
    env = {
        "DATABASE_URL": db_url,
        "WATTLINE_OCPP_HOST": "127.0.0.1",
        "WATTLINE_OCPP_PORT": str(port),
        "WATTLINE_OCPP_SPOOL": str(tmp_path / "ocpp.jsonl"),
        "WATTLINE_ALLOW_UNKNOWN_CHARGERS": "true",
    }
    ocpp = Observed("ocpp", env, port, tmp_path / "ocpp.log").wait_started()
    try:
        url = f"ws://127.0.0.1:{port}/ocpp"
        with (
            connect(f"{url}/CP-A", subprotocols=["ocpp1.6"]) as a,
            connect(f"{url}/CP-B", subprotocols=["ocpp1.6"]) as b,
        ):
            for ws, name, count in ((a, "a", 4), (b, "b", 3)):
                for i in range(count):
                    ws.send(meter_values(f"{name}{i}", 10 - i, 1000 + i))
                    assert json.loads(ws.recv(10))[:2] == [3, f"{name}{i}"]
            a.send('[2, "broken", "MeterValues", {"connectorId": ')  # not JSON: cut short
            assert json.loads(a.recv(10))[:3] == [4, "broken", "FormationViolation"]
            b.send('[2, "odd", "CP-B says hello", {}]')  # no such action
            assert json.loads(b.recv(10))[:3] == [4, "odd", "NotImplemented"]
            assert ocpp.sample("wattline_ocpp_connections") == 2
            assert ocpp.sample("wattline_devices_silent", source="ocpp") == 0
        # 4 + 3 MeterValues answered with an empty CALLRESULT (accepted), and the broken one,
        # whose head still names its action, answered with a FormationViolation. An action
        # nobody knows is counted as "other": a charger cannot add label values.
        received = "wattline_messages_received_total"
        assert ocpp.sample(received, source="ocpp", kind="MeterValues") == 8
        assert ocpp.sample("wattline_ocpp_replies_total", result="accepted") == 7
        assert ocpp.sample("wattline_ocpp_replies_total", result="FormationViolation") == 1
        assert ocpp.sample(received, source="ocpp", kind="other") == 1
        assert ocpp.sample("wattline_ocpp_replies_total", result="NotImplemented") == 1
        # Every action is exported from the start (at 0); only these two counted anything.
        counted = {
            dict(labels)["kind"]
            for (name, labels), n in ocpp.metrics().items()
            if name == received and n
        }
        assert counted == {"MeterValues", "other"}
        # Rows: 7 meter_values, and 9 frames in and 9 out in ocpp_messages (the replies are
        # flushed in the background: wait for them).
        rows = "wattline_writer_commit_rows_sum"
        until(lambda: ocpp.sample(rows) == 7 + 9 + 9, "all 25 rows committed")
        until(lambda: ocpp.sample("wattline_ocpp_connections") == 0, "both disconnected")
        assert ocpp.sample("wattline_spool_bytes") == 0
        assert ocpp.sample("wattline_writer_up") == 1
        assert ocpp.sample("wattline_rejects_total", source="ocpp", reason="payload") is None
    finally:
        assert ocpp.stop() == 0


def test_mqtt_counts_after_five_readings_and_a_bad_message(
    mqtt_config, publisher, serial, db_url, tmp_path
):
    port = free_port()
    env = {
        "DATABASE_URL": db_url,
        "MQTT_URL": "mqtt://127.0.0.1:1883",
        "WATTLINE_MQTT_TOPIC_PREFIX": mqtt_config.topic_prefix,
        "WATTLINE_MQTT_CLIENT_ID": mqtt_config.client_id,
        "WATTLINE_MQTT_SPOOL": str(tmp_path / "mqtt.jsonl"),
        "WATTLINE_MQTT_HTTP_PORT": str(port),
        "WATTLINE_ALLOW_UNKNOWN_METERS": "true",
        "WATTLINE_MQTT_MAX_PENDING": "1000",
    }
    mqtt = Observed("mqtt", env, port, tmp_path / "mqtt.log").wait_started("subscribed to")
    try:
        t0 = datetime.now(UTC) - timedelta(hours=1)
        for i in range(5):
            at = (t0 + timedelta(minutes=10 * i)).isoformat()
            publisher.send(serial, "reading", {"ts": at, "import_wh": 1000 + 100 * i})
        publisher.send(serial, "reading", b"this is not JSON")
        acks = "wattline_mqtt_acknowledged_total"
        until(lambda: mqtt.sample(acks) == 6, "six messages acknowledged")
        assert mqtt.sample("wattline_messages_received_total", source="mqtt", kind="reading") == 6
        # The bad message is acknowledged too: its reject row is what keeps it.
        assert mqtt.sample("wattline_rejects_total", source="mqtt", reason="payload") == 1
        assert mqtt.sample("wattline_mqtt_receive_window_messages") == 0
        assert mqtt.sample("wattline_mqtt_receive_window_limit_messages") == 1000
        # One meter heard, just now.
        assert mqtt.sample("wattline_devices_silent", source="mqtt") == 0
        assert mqtt.sample("wattline_last_seen_age_seconds", source="mqtt", quantile="1") < 600
        # Rows: 5 register readings and 1 reject.
        assert mqtt.sample("wattline_writer_commit_rows_sum") == 6
    finally:
        assert mqtt.stop() == 0
