"""scripts/compose-secrets as a deployer runs it: generated secret files that compose mounts,
kept on a second run, and a broker password entry that a real Mosquitto, run with the shipped
deploy/mosquitto.conf and ACL, accepts for the ingest."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import yaml
from mosquitto_broker import INGEST_USER, Broker, have_mosquitto

ROOT = Path(__file__).parents[2]
SCRIPT = ROOT / "scripts" / "compose-secrets"
COMPOSE_SECRETS = set(yaml.safe_load((ROOT / "docker-compose.yml").read_text())["secrets"])


def _run(tmp_path: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "COMPOSE_SECRETS_DIR": str(tmp_path / "secrets"),
        "MOSQUITTO_PASSWD": str(tmp_path / "mosquitto.passwd"),
    }
    return subprocess.run(
        ["bash", str(SCRIPT)], env=env, capture_output=True, text=True, check=True
    )


def _connect(port: int, user: str, password: str) -> str:
    answered = threading.Event()
    result: list[str] = []

    def on_connect(client, userdata, flags, reason_code, properties) -> None:
        result.append(str(reason_code))
        answered.set()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.on_connect = on_connect
    client.username_pw_set(user, password)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        assert answered.wait(5)
    finally:
        client.disconnect()
        client.loop_stop()
    return result[0]


@pytest.mark.skipif(shutil.which("mosquitto_passwd") is None, reason="mosquitto not installed")
def test_secrets_are_generated_once_and_readable_by_the_containers(tmp_path):
    _run(tmp_path)
    directory = tmp_path / "secrets"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    files = {p.name: p for p in directory.iterdir()}
    # Every secret docker-compose.yml declares, and nothing else.
    assert set(files) == COMPOSE_SECRETS
    values = {name: p.read_text() for name, p in files.items()}
    assert values.pop("alert_webhook_url") == ""  # no webhook until one is written there
    for name, path in files.items():
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, name
        if name == "alert_webhook_url":
            continue
        # 32 random bytes, URL-safe base64 without padding, no newline to trip a reader.
        assert len(values[name]) == 43 and "\n" not in values[name], name
    assert len(set(values.values())) == len(values)

    second = _run(tmp_path)
    assert "exists, kept" in second.stdout
    assert {n: p.read_text() for n, p in files.items() if n in values} == values
    entries = (tmp_path / "mosquitto.passwd").read_text().splitlines()
    assert [e.split(":")[0] for e in entries] == [INGEST_USER]
    assert values["mqtt_ingest_password"] not in (tmp_path / "mosquitto.passwd").read_text()


@pytest.mark.skipif(not have_mosquitto(), reason="mosquitto not installed")
def test_the_broker_admits_the_ingest_with_the_generated_password(tmp_path):
    _run(tmp_path)
    password = (tmp_path / "secrets" / "mqtt_ingest_password").read_text()
    broker = Broker(users={"placeholder": "x"})
    try:
        shutil.copy(tmp_path / "mosquitto.passwd", broker.root / "passwd")
        broker.start()
        assert _connect(broker.port, INGEST_USER, password) == "Success"
        assert _connect(broker.port, INGEST_USER, password[:-1]) == "Not authorized"
    finally:
        broker.remove()
