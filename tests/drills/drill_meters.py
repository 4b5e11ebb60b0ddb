"""Smart meters for the drills: one real MQTT 5 client (paho) publishing readings at QoS 1.

A reading counts as acknowledged when the broker's PUBACK for it arrives: from then on the
meter has forgotten it, and only the broker and the ingest stand between it and the database.
paho keeps every QoS 1 message not yet acknowledged and sends it again (DUP) when it reconnects,
as a meter's MQTT stack does.

Reading n of a meter is at ``t0 + n`` seconds with import_wh = ENERGY0 + STEP_WH * n: one
natural key (meter, time) and a known value per message.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import datetime, timedelta

import paho.mqtt.client as mqtt

ENERGY0 = 500_000
STEP_WH = 5


class Meters:
    def __init__(self, port: int, topic_prefix: str, serials: list[str], t0: datetime) -> None:
        self.prefix = topic_prefix
        self.serials = serials
        self.t0 = t0
        self.produced = {s: 0 for s in serials}
        self._sent: list[tuple[str, int, int]] = []  # serial, reading number, packet id
        self._acknowledged: set[int] = set()  # packet ids the broker acknowledged
        self._lock = threading.Lock()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"wattline-drill-meters-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv5,
        )
        # Counted by packet id in paho's callback: a message published while the broker is
        # away has an error code in its MQTTMessageInfo, yet goes out after the reconnect.
        self.client.on_publish = self._on_publish
        self.client.reconnect_delay_set(0.2, 1)
        self.client.max_queued_messages_set(0)  # keep everything while the broker is away
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def time_of(self, n: int) -> datetime:
        return self.t0 + timedelta(seconds=n)

    def publish_round(self) -> None:
        """One reading from every meter."""
        with self._lock:
            # Packet ids name messages only until they wrap around: a drill sends fewer.
            assert len(self._sent) + len(self.serials) < 65_536
            for serial in self.serials:
                n = self.produced[serial]
                self.produced[serial] = n + 1
                body = {"ts": self.time_of(n).isoformat(), "import_wh": ENERGY0 + STEP_WH * n}
                info = self.client.publish(
                    f"{self.prefix}/{serial}/reading", json.dumps(body), qos=1
                )
                self._sent.append((serial, n, info.mid))

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        # Not under self._lock: paho calls this holding its own lock, which publish() takes.
        if not reason_code.is_failure:
            self._acknowledged.add(mid)

    def acknowledged(self) -> list[tuple[str, int]]:
        with self._lock:
            return [(s, n) for s, n, mid in self._sent if mid in self._acknowledged]

    def wait_acknowledged(self, timeout_s: float) -> int:
        """Wait until the broker has acknowledged everything published; the number not."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                waiting = sum(mid not in self._acknowledged for _, _, mid in self._sent)
            if not waiting or time.monotonic() > deadline:
                return waiting
            time.sleep(0.05)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
