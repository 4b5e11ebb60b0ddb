"""The shipped broker configuration keeps meters in their lanes: no anonymous clients, a meter
publishes under its own serial only, nothing larger than max_packet_size gets in, and the ingest
signs in (over TLS when MQTT_URL is mqtts://) and stores what meters may send."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from mosquitto_broker import INGEST_USER, Broker, TlsFiles
from mqtt_support import eventually, running

from ingest.mqtt.subscriber import Subscriber

pytestmark = pytest.mark.skipif(
    not (shutil.which("mosquitto") and shutil.which("openssl")), reason="needs mosquitto, openssl"
)

INGEST_PASSWORD = "ingest-Secret-9f3"
METERS = {"EMLA0001": "meter-a-secret", "EMLB0002": "meter-b-secret"}
READING = {"ts": "2024-10-01T09:00:00Z", "import_wh": 15234.5}
READINGS = """SELECT m.serial, count(*) FROM register_readings r
    JOIN meter_registry m ON m.id = r.meter_id GROUP BY 1"""


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


EC_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")


def _make_ca(directory: Path, name: str) -> tuple[Path, Path]:
    directory.mkdir()
    ca, key = directory / "ca.pem", directory / "ca.key"
    _openssl("req", "-x509", *EC_KEY, "-days", "1", "-subj", f"/CN={name}",
             "-keyout", str(key), "-out", str(ca))  # fmt: skip
    return ca, key


def _sign(ca: Path, ca_key: Path, name: str, ext: str, out: Path) -> tuple[Path, Path]:
    key, csr, cert, extfile = (out / f"{name}.{x}" for x in ("key", "csr", "pem", "ext"))
    extfile.write_text(ext + "\n")
    _openssl("req", *EC_KEY, "-subj", f"/CN={name}",
             "-keyout", str(key), "-out", str(csr))  # fmt: skip
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
             "-CAcreateserial", "-days", "1", "-extfile", str(extfile),
             "-out", str(cert))  # fmt: skip
    return cert, key


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> tuple[TlsFiles, Path, tuple[Path, Path]]:
    """The broker's certificate for 127.0.0.1 signed by a CA of the test's own, an unrelated
    CA, and a client certificate for the ingest from the test's CA."""
    tmp = tmp_path_factory.mktemp("tls")
    ca, ca_key = _make_ca(tmp / "ca", "wattline test CA")
    other, _ = _make_ca(tmp / "other", "someone else's CA")
    cert, key = _sign(ca, ca_key, "127.0.0.1", "subjectAltName=IP:127.0.0.1", tmp)
    client = _sign(ca, ca_key, INGEST_USER, "extendedKeyUsage=clientAuth", tmp)
    return TlsFiles(ca=ca, cert=cert, key=key), other, client


@pytest.fixture
def broker(certificates) -> Iterator[Broker]:
    b = Broker({INGEST_USER: INGEST_PASSWORD, **METERS}, tls=certificates[0])
    b.start()
    yield b
    b.remove()


@pytest.fixture
def config(mqtt_config, broker):
    url = f"mqtt://{INGEST_USER}:{INGEST_PASSWORD}@127.0.0.1:{broker.port}"
    # Meters register when first heard: the ACL, not the registry, is what keeps B's out.
    return dataclasses.replace(
        mqtt_config, url=url, topic_prefix="meters", allow_unknown_meters=True
    )


class Meter:
    """A meter's MQTT 5 client that records the broker's answers."""

    def __init__(self, port: int, user: str | None, password: str | None = None) -> None:
        self.answered = threading.Event()  # the broker's CONNACK, accepting or refusing
        self.connected = threading.Event()
        self.closed = threading.Event()
        self.refusal = None
        self.acks: dict[int, mqtt.ReasonCode] = {}
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.on_connect = self._on_connect
        self.client.on_publish = lambda c, u, mid, rc, p: self.acks.__setitem__(mid, rc)
        self.client.on_disconnect = lambda *a: self.closed.set()
        if user:
            self.client.username_pw_set(user, password)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self.answered.wait(5)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.refusal = str(reason_code)
        else:
            self.connected.set()
        self.answered.set()

    def publish(self, topic: str, payload: bytes | dict, timeout: float = 5) -> mqtt.ReasonCode:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        info = self.client.publish(topic, data, qos=1)
        info.wait_for_publish(timeout)
        return self.acks.get(info.mid)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_anonymous_clients_and_wrong_passwords_are_refused(broker):
    for user, password in [(None, None), ("EMLA0001", "meter-b-secret"), ("nobody", "x")]:
        meter = Meter(broker.port, user, password)
        try:
            assert not meter.connected.is_set()
            assert meter.refusal == "Not authorized"
        finally:
            meter.close()


async def test_a_meter_publishes_under_its_own_serial_only(broker, config, db_url, query):
    async with running(config, db_url):
        meter_a = Meter(broker.port, "EMLA0001", METERS["EMLA0001"])
        try:
            # Published first: were it delivered, it would be stored before A's own reading.
            assert str(meter_a.publish("meters/EMLB0002/reading", READING)) == "Not authorized"
            assert str(meter_a.publish("meters/EMLA0001/reading", READING)) == "Success"
            await eventually(lambda: query(READINGS) == [("EMLA0001", 1)])
        finally:
            meter_a.close()
    assert query("SELECT serial FROM meter_registry") == [("EMLA0001",)]
    assert query("SELECT count(*) FROM ingest_rejects") == [(0,)]


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


async def test_a_25_mb_publish_is_refused_and_the_ingest_stays_small(
    broker, config, db_url, query, tmp_path
):
    password_file = tmp_path / "mqtt-password"
    password_file.write_text(INGEST_PASSWORD + "\n")  # as a mounted secret ends
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "MQTT_URL": f"mqtt://127.0.0.1:{broker.port}",
        "WATTLINE_MQTT_USERNAME": INGEST_USER,
        "WATTLINE_MQTT_PASSWORD_FILE": str(password_file),
        "WATTLINE_MQTT_CLIENT_ID": config.client_id,
        "WATTLINE_ALLOW_UNKNOWN_METERS": "true",
    }
    ingest = subprocess.Popen(
        [sys.executable, "-m", "wattline.cli", "mqtt"], env=env, stderr=subprocess.PIPE, text=True
    )
    meter = None
    try:
        log = []
        for line in ingest.stderr:
            log.append(line)
            if "subscribed to" in line:
                break
        before = _rss_kib(ingest.pid)
        meter = Meter(broker.port, "EMLA0001", METERS["EMLA0001"])
        # 25 MB, well-formed: 500,000 readings (the payload limit would refuse it anyway, but
        # only after the ingest had read and parsed it).
        big = json.dumps([READING] * 500_000).encode()
        assert len(big) > 25_000_000
        assert meter.publish("meters/EMLA0001/reading", big, timeout=10) is None  # never acked
        assert meter.closed.wait(5)  # the broker dropped the connection
        meter.close()
        meter = Meter(broker.port, "EMLA0001", METERS["EMLA0001"])
        assert str(meter.publish("meters/EMLA0001/reading", READING)) == "Success"
        await eventually(lambda: query(READINGS) == [("EMLA0001", 1)])
        after = _rss_kib(ingest.pid)
        # The ingest never saw the 25 MB (it took 320 MB to parse when the broker passed it).
        assert after - before < 10 * 1024, (before, after)
        assert after < 100 * 1024, after
    finally:
        if meter:
            meter.close()
        ingest.send_signal(signal.SIGTERM)
        rest = ingest.communicate(timeout=20)[1]
    assert ingest.returncode == 0
    assert INGEST_PASSWORD not in "".join(log) + rest


async def _one_reading_is_stored(broker: Broker, serial: str, query) -> None:
    meter = Meter(broker.port, serial, METERS[serial])
    try:
        assert str(meter.publish(f"meters/{serial}/reading", READING)) == "Success"
        await eventually(lambda: query(READINGS) == [(serial, 1)])
    finally:
        meter.close()


async def test_mqtts_with_the_brokers_ca_stores_readings(
    broker, config, certificates, db_url, query
):
    tls = dataclasses.replace(
        config,
        url=f"mqtts://{INGEST_USER}:{INGEST_PASSWORD}@127.0.0.1:{broker.tls_port}",
        ca_file=str(certificates[0].ca),
    )
    async with running(tls, db_url):
        await _one_reading_is_stored(broker, "EMLB0002", query)


async def test_mqtts_with_the_wrong_ca_fails_clearly(broker, config, certificates, db_url, caplog):

    tls = dataclasses.replace(
        config,
        url=f"mqtts://{INGEST_USER}:{INGEST_PASSWORD}@127.0.0.1:{broker.tls_port}",
        ca_file=str(certificates[1]),
    )
    subscriber = Subscriber(tls, db_url)
    stop = asyncio.Event()
    with caplog.at_level(logging.ERROR, logger="ingest.mqtt.subscriber"):
        task = asyncio.create_task(subscriber.run(stop))
        try:
            await eventually(lambda: "certificate verify failed" in caplog.text, timeout=10)
            assert not subscriber.ready.is_set()
        finally:
            stop.set()
            await asyncio.wait_for(task, 20)
    assert f"TLS with MQTT broker mqtts://{INGEST_USER}:***@127.0.0.1" in caplog.text
    assert INGEST_PASSWORD not in caplog.text


async def test_mqtts_with_a_client_certificate(mqtt_config, certificates, db_url, query):
    server, _, (cert, key) = certificates
    broker = Broker(
        {INGEST_USER: INGEST_PASSWORD, **METERS},
        dataclasses.replace(server, require_certificate=True),
    )
    broker.start()
    try:
        tls = dataclasses.replace(
            mqtt_config,
            url=f"mqtts://{INGEST_USER}:{INGEST_PASSWORD}@127.0.0.1:{broker.tls_port}",
            topic_prefix="meters",
            allow_unknown_meters=True,
            ca_file=str(server.ca),
            cert_file=str(cert),
            key_file=str(key),
        )
        async with running(tls, db_url):
            await _one_reading_is_stored(broker, "EMLA0001", query)
        # Without the certificate the broker does not let the ingest in.
        with pytest.raises(TimeoutError):
            async with running(dataclasses.replace(tls, cert_file=None, key_file=None), db_url):
                pass
    finally:
        broker.remove()
