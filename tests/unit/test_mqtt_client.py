"""BufferedClient: PUBLISH packets decoded by hand-built bytes, and a burst of packets read
from a real socket with one recv."""

from __future__ import annotations

import socket

import paho.mqtt.client as mqtt
import pytest

from ingest.mqtt.client import BufferedClient, MalformedPublish, decode_publish


def _publish(topic: str, payload: bytes, mid: int, *, properties: bytes = b"") -> bytes:
    """A QoS 1 MQTT 5 PUBLISH packet: fixed header, topic, packet id, properties, payload."""
    body = (
        len(topic).to_bytes(2, "big")
        + topic.encode()
        + mid.to_bytes(2, "big")
        + bytes([len(properties)])
        + properties
        + payload
    )
    assert len(body) < 128  # one byte of remaining length keeps the test's packets simple
    return bytes([0x32, len(body)]) + body


def test_a_v5_publish_gives_topic_payload_and_packet_id_with_properties_skipped():
    # Properties: Payload Format Indicator (0x01) = 1, Message Expiry Interval (0x02) = 60.
    props = bytes([0x01, 0x01, 0x02, 0, 0, 0, 60])
    packet = _publish("meters/M1/reading", b'{"import_wh": 5}', 513, properties=props)
    assert decode_publish(packet[2:], qos=1, v5=True) == (
        "meters/M1/reading",
        b'{"import_wh": 5}',
        513,
    )


def test_a_qos0_311_publish_has_no_packet_id_and_no_properties():
    packet = (7).to_bytes(2, "big") + b"a/b/c/d" + b"xyz"
    assert decode_publish(packet, qos=0, v5=False) == ("a/b/c/d", b"xyz", 0)


@pytest.mark.parametrize(
    "packet",
    [
        b"\x00",  # shorter than the topic length
        b"\x00\x09meters",  # shorter than the topic
        b"\x00\x01a\x00\x01\x05\x01",  # properties said 5 bytes, 1 follows
    ],
)
def test_a_malformed_publish_is_refused(packet):
    with pytest.raises(MalformedPublish):
        decode_publish(packet, qos=1, v5=True)


def test_a_burst_of_packets_is_read_with_one_recv_and_each_handed_over_once(monkeypatch):
    received: list[tuple] = []
    client = BufferedClient(
        mqtt.CallbackAPIVersion.VERSION2,
        protocol=mqtt.MQTTv5,
        on_publish_received=lambda *args: received.append(args),
    )
    ours, broker = socket.socketpair()
    ours.setblocking(False)
    client._sock = ours  # what paho's connect would set; the test plays the broker
    recvs = 0
    real_recv = mqtt.Client._sock_recv

    def counting_recv(self, bufsize):
        nonlocal recvs
        recvs += 1
        return real_recv(self, bufsize)

    monkeypatch.setattr(mqtt.Client, "_sock_recv", counting_recv)
    try:
        broker.sendall(b"".join(_publish(f"m/{i}/reading", b"%d" % i, i + 1) for i in range(3)))
        for _ in range(3):
            assert client.loop_read() == mqtt.MQTT_ERR_SUCCESS
        assert not client.buffered()
        assert recvs == 1  # paho alone reads each packet with three or more
        # Half a packet, then the rest: nothing handed over until it is whole.
        packet = _publish("m/9/reading", b"nine", 10)
        broker.sendall(packet[:5])
        client.loop_read()
        broker.sendall(packet[5:])
        client.loop_read()
    finally:
        ours.close()
        broker.close()
    assert received == [
        ("m/0/reading", b"0", 1, 1),
        ("m/1/reading", b"1", 2, 1),
        ("m/2/reading", b"2", 3, 1),
        ("m/9/reading", b"nine", 10, 1),
    ]
