"""paho's MQTT client with its largest per-message costs taken out.

Profiled under bench.mqtt_load (10,000 single-reading messages/s), paho's own code was 40 % of
the subscriber's CPU, most of it in three places this subclass replaces:

- reads: paho reads a packet with at least three ``recv`` calls (command byte, each byte of the
  remaining length, the rest). Here one ``recv`` of up to READ_SIZE bytes fills a buffer that
  those calls are served from, so a burst of messages costs one system call.
- PUBLISH: paho builds an MQTTMessage and an MQTT 5 Properties object for every message, and
  matches its topic against the (here empty) table of per-topic callbacks. Here a QoS 0/1
  PUBLISH is decoded in place and handed to ``on_publish_received(topic, payload, mid, qos)``;
  its properties are skipped (the broker may not send a topic alias, since we allow none, and
  nothing else in them changes how a reading is stored). QoS 2 takes paho's own path.
- per-topic callbacks (``message_callback_add``) are therefore not supported.

It builds on paho's private methods (``_sock_recv``, ``_sock_close``, ``_handle_publish``,
``_in_packet``), hence the pin to paho-mqtt 2.2.x in pyproject.toml; tests/integration/mqtt and
tests/unit/test_mqtt_client.py exercise them.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode, MQTTProtocolVersion

from ingest.mqtt.config import MqttConfig

READ_SIZE = 256 * 1024

OnPublish = Callable[[str, bytes, int, int], None]


class MalformedPublish(ValueError):
    pass


def secure(client: mqtt.Client, config: MqttConfig) -> None:
    """Credentials and, for mqtts://, TLS that verifies the broker's certificate and name
    against ``config.ca_file`` (the system's CAs when unset)."""
    if config.username:
        client.username_pw_set(config.username, config.password)
    if config.tls:
        client.tls_set(
            ca_certs=config.ca_file, certfile=config.cert_file, keyfile=config.key_file,
            cert_reqs=ssl.CERT_REQUIRED,
        )  # fmt: skip


class BufferedClient(mqtt.Client):
    def __init__(self, *args, on_publish_received: OnPublish, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.on_publish_received = on_publish_received
        self._rbuf = b""
        self._rpos = 0

    def buffered(self) -> bool:
        """Bytes received and not yet handled: the socket will not signal them again (nor
        those TLS has decrypted and not yet handed over)."""
        if self._rpos < len(self._rbuf):
            return True
        sock = self._sock
        return isinstance(sock, ssl.SSLSocket) and sock.pending() > 0

    def _sock_recv(self, bufsize: int) -> bytes:
        pos = self._rpos
        if pos >= len(self._rbuf):
            data = super()._sock_recv(max(bufsize, READ_SIZE))
            self._rbuf, self._rpos = data, 0
            if len(data) <= bufsize:
                self._rpos = len(data)
                return data  # also the b"" of a closed connection, as paho expects
            pos = 0
        end = pos + bufsize
        self._rpos = end
        return self._rbuf[pos:end]

    def _sock_close(self) -> None:
        # What is left belongs to the closed connection; the next one starts afresh.
        self._rbuf, self._rpos = b"", 0
        super()._sock_close()

    def _handle_publish(self) -> MQTTErrorCode:
        command = self._in_packet["command"]
        qos = (command & 0x06) >> 1
        if qos == 2:
            return super()._handle_publish()
        try:
            topic, payload, mid = decode_publish(
                self._in_packet["packet"], qos, self._protocol == MQTTProtocolVersion.MQTTv5
            )
        except MalformedPublish:
            return MQTTErrorCode.MQTT_ERR_PROTOCOL  # paho drops the connection, as for its own
        self.on_publish_received(topic, payload, mid, qos)
        return MQTTErrorCode.MQTT_ERR_SUCCESS


def decode_publish(packet: bytes, qos: int, v5: bool) -> tuple[str, bytes, int]:
    """Topic, payload and packet id of a PUBLISH packet's variable header and payload (MQTT
    3.1.1 section 3.3.2, MQTT 5 section 3.3.2)."""
    if len(packet) < 2:
        raise MalformedPublish("PUBLISH shorter than its topic length")
    end = 2 + int.from_bytes(packet[:2], "big")
    if len(packet) < end:
        raise MalformedPublish("PUBLISH shorter than its topic")
    # The broker checks topics are UTF-8; should one not be, its reject row says so legibly.
    topic = packet[2:end].decode("utf-8", errors="replace")
    mid = 0
    if qos:
        mid = int.from_bytes(packet[end : end + 2], "big")
        end += 2
    if v5:
        # Property Length, a variable byte integer, then the properties, skipped.
        length, shift = 0, 0
        while True:
            if end >= len(packet) or shift > 21:
                raise MalformedPublish("PUBLISH with a malformed property length")
            byte = packet[end]
            end += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        end += length
        if end > len(packet):
            raise MalformedPublish("PUBLISH shorter than its properties")
    return topic, packet[end:], mid
